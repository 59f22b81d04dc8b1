"""What an interrupted run left in its results folder, and whether `--resume` may continue it.

A resume continues the run that wrote the folder, with that run's options: results.json records them
(`options`), so `edgeperf run --resume DIR` needs nothing else, and an option given again must say the same.
Benchmarks that finished are kept as they are; only the others run again, from their journals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .report import load_document
from .schema import Document


@dataclass(frozen=True)
class Interrupted:
    """The run a resume continues."""

    folder: Path
    #: The options the run was started with, as results.json records them.
    options: dict[str, object]
    #: The `runs` entries of benchmarks that completed: a resume keeps them and does not run them again.
    finished: list[Document]

    def conflicts(self, given: dict[str, object]) -> list[str]:
        """Each option given to the resume that contradicts the recorded run, as `--name: recorded, given`."""
        return [f"--{name.replace('_', '-')} was {self.options.get(name)!r} in that run, {value!r} now"
                for name, value in sorted(given.items()) if self.options.get(name) != value]

    def remaining(self, benchmarks: list[str]) -> list[str]:
        """The benchmarks still to run; refuses a folder whose run has nothing left, so finished results stay."""
        done = {str(run.get("benchmark")) for run in self.finished}
        left = [name for name in benchmarks if name not in done]
        if not left:
            raise ConfigError(f"every benchmark of the run in {self.folder} finished ({', '.join(benchmarks)}): "
                              f"nothing to resume; `edgeperf report {self.folder}` shows its results")
        return left


def interrupted_run(folder: Path) -> Interrupted:
    """The run recorded in `folder`, which must be an accuracy run (the only mode that journals its samples)."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} does not exist: nothing to resume")
    document = load_document(folder)
    options, runs = document.get("options"), document.get("runs")
    if not isinstance(options, dict) or not isinstance(runs, list):
        raise ConfigError(f"{folder / 'results.json'} records no run options (written by an older edgeperf, or "
                          "edited): it cannot be resumed safely; start a new run")
    if options.get("mode") != "accuracy" or options.get("scenario"):
        raise ConfigError(f"{folder} holds a {options.get('mode')} run{' under LoadGen' if options.get('scenario') else ''}"
                          ": only accuracy runs journal their samples and can be resumed; start a new run")
    finished = [run for run in runs if isinstance(run, dict) and not run.get("error") and "accuracy" in run]
    return Interrupted(folder, options, finished)
