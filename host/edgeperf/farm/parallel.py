"""Run many targets at once: one host process per board, one combined results folder.

Each board gets its own process (not a thread) so a slow or hung board, a LoadGen child or a
CPU-heavy parser never steals time from another board's timing loop, and a crash stays contained.
Targets are handed over by fork, so nothing a target holds needs to pickle.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection, wait
from typing import cast

from ..errors import ConfigError
from ..results import ResultsFolder
from ..results.schema import Document
from ..results.summary import run_summary
from ..rules.performance import PerformanceSettings
from ..rules.progress import Progress
from ..rules.scenarios import EdgeProfile
from ..run import new_document, run_target
from ..targets import Target


def target_folders(targets: list[Target], folder: ResultsFolder) -> list[ResultsFolder]:
    """Where each target writes: the folder itself while benchmarks are distinct, else `boardN-<bench>/` each."""
    counts = Counter(t.benchmark.name for t in targets)
    if all(n == 1 for n in counts.values()):
        return [folder] * len(targets)
    return [ResultsFolder(folder.path / f"board{i + 1}-{t.benchmark.name}") for i, t in enumerate(targets)]


def _child(conn: Connection, target: Target, mode: str, settings: PerformanceSettings, folder: ResultsFolder,
           golden: tuple[str, ...], scenario: str | None, profile: EdgeProfile | None) -> None:
    """Body of one board's process: run it and send back its results entry, whatever happens."""
    try:
        entry = run_target(target, mode, settings, folder, Progress(), golden, scenario, profile)
    except BaseException as exc:  # noqa: BLE001 - an unexpected crash must still come back as a failed entry
        entry = {"benchmark": target.benchmark.name, "mode": mode, "scenario": scenario,
                 "board": {"description": target.description, "url": target.url},
                 "error": f"{type(exc).__name__} in the board's process: {exc}\n{traceback.format_exc()}"}
    entry["process"] = {"pid": os.getpid()}
    if folder.path.name.startswith("board"):
        entry["results_subfolder"] = folder.path.name
    conn.send(entry)
    conn.close()


def run_parallel(targets: list[Target], mode: str, settings: PerformanceSettings, folder: ResultsFolder,
                 progress: Progress, command: list[str] | None = None, golden: tuple[str, ...] = (),
                 scenario: str | None = None, profile: EdgeProfile | None = None, options: Document | None = None,
                 kept: list[Document] | None = None) -> Document:
    """Like `run.run_all`, but every target runs at the same time in its own process."""
    urls = [t.url for t in targets if t.url]
    shared = sorted({u for u in urls if urls.count(u) > 1})
    if shared:
        raise ConfigError(f"--parallel: several targets use {shared[0]}; a board runs one benchmark at a time, "
                          "so give each target its own board (--target BENCH@URL) or drop --parallel")
    document = new_document(mode, settings, command, scenario, options=options or {},
                            parallel={"boards": len(targets), "processes": len(targets)})
    document["runs"] = list(kept or [])
    folder.write_json("results.json", document)
    context = multiprocessing.get_context("fork")
    entries: list[Document | None] = [None] * len(targets)
    pending: dict[Connection, tuple[int, multiprocessing.process.BaseProcess]] = {}
    progress.begin(total=len(targets), description=f"{len(targets)} boards in parallel ({mode})")
    started = time.time()
    for index, (target, sub) in enumerate(zip(targets, target_folders(targets, folder))):
        receiver, sender = context.Pipe(duplex=False)
        proc = context.Process(target=_child, args=(sender, target, mode, settings, sub, golden, scenario, profile),
                               name=f"edgeperf-board-{index + 1}", daemon=False)
        proc.start()
        sender.close()
        pending[receiver] = (index, proc)
    try:
        while pending:
            for ready in wait(list(pending)):
                conn = cast(Connection, ready)  # wait() returns the objects it was given: connections
                index, child = pending.pop(conn)
                try:
                    entry: Document = conn.recv()
                except EOFError:
                    entry = {"benchmark": targets[index].benchmark.name, "mode": mode, "scenario": scenario,
                             "board": {"description": targets[index].description, "url": targets[index].url},
                             "error": f"the board's process died (exit code {child.exitcode}) without a result"}
                conn.close()
                child.join()
                entries[index] = entry
                document["runs"] = list(kept or []) + [e for e in entries if e is not None]
                folder.write_json("results.json", document)
                folder.write_text("results.txt", run_summary(document["runs"]))
                progress.status(f"{entry['benchmark']} done{' (failed)' if entry.get('error') else ''}")
                progress.advance()
    finally:
        for conn, (_, child) in pending.items():  # interrupted: do not leave board processes behind
            child.terminate()
            child.join(5)
            conn.close()
    document["parallel"]["wall_seconds"] = time.time() - started
    folder.write_json("results.json", document)
    return document


