"""One LoadGen test in its own process: `python -m edgeperf.rules.loadgen_child SPEC.json`.

LoadGen aborts or hangs in several error paths and ignores Ctrl-C while a test runs, so
the parent (rules/scenarios.py) starts one of these per (board, scenario, mode), watches
it, and kills it if it outlives its deadline. Only plain JSON crosses the boundary.

The board holds one input: LoadGen's `LoadSamplesToRam` uploads the sample (untimed),
each query then runs `infer 1 0` on the resident input. Every issued sample is completed,
with an empty payload if the board failed, so `StartTest` always returns.
"""

from __future__ import annotations

import array
import json
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from ..benchmarks import Benchmark, get_benchmark
from ..datasets import DatasetFile, read_dataset
from ..dut import DutSession
from ..errors import EdgeperfError
from ..links import open_link
from ..protocol.transcript import DeviceLog


def _settings(lg: Any, spec: dict[str, Any]) -> Any:
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, spec["scenario"])
    settings.mode = getattr(lg.TestMode, spec["mode"])
    for key, value in spec["settings"].items():
        setattr(settings, key, value)
    return settings


class _BoardSut:
    """The board as LoadGen's system under test: one resident input, one thread that talks to the board."""

    def __init__(self, lg: Any, session: DutSession, samples: list[tuple[DatasetFile, int]], bench: Benchmark,
                 sidecar: TextIO, timeout: float) -> None:
        self.lg = lg
        self.session = session
        self.samples = samples
        self.bench = bench
        self.sidecar = sidecar
        self.timeout = timeout
        self.errors: list[str] = []
        self.work: queue.Queue[list[tuple[int, int, float]] | None] = queue.Queue()
        self._started = time.monotonic()

    def load(self, indices: list[int]) -> None:
        for index in indices:
            item, window = self.samples[index]
            try:
                self.session.upload(self.bench.window(item.read(), window))
            except EdgeperfError as exc:
                self.errors.append(f"upload of sample {index} failed: {exc}")

    def issue(self, query_samples: list[Any]) -> None:
        issued = time.monotonic()
        self.work.put([(s.id, s.index, issued) for s in query_samples])

    def serve(self) -> None:
        """Complete every issued sample, with an empty payload when the board failed.

        One persistent thread does it: LoadGen crashes when short-lived threads complete samples.
        """
        while (batch := self.work.get()) is not None:
            for sample_id, index, issued in batch:
                buffer = array.array("B", self._infer(index, issued))
                address, length = buffer.buffer_info()
                self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(sample_id, address, length)])

    def _infer(self, index: int, issued: float) -> bytes:
        """One query; the sidecar gets its device time and its host time from issue to reply (for plots)."""
        try:
            if self.errors:
                raise EdgeperfError(self.errors[0])
            reply = self.session.infer(1, 0, self.timeout)
            done = time.monotonic()
            self.sidecar.write(json.dumps({"qsl_idx": index, "device_us": reply.elapsed_us,
                                           "issued_s": round(issued - self._started, 6),
                                           "host_us": round((done - issued) * 1e6, 1)}) + "\n")
            return array.array("f", reply.results).tobytes()
        except EdgeperfError as exc:
            if not self.errors:
                self.errors.append(f"sample {index}: {exc}")
            return b""


def main(spec_path: str) -> int:
    import mlperf_loadgen as lg

    spec = json.loads(Path(spec_path).read_text())
    out = Path(spec["outdir"])
    out.mkdir(parents=True, exist_ok=True)  # LoadGen fails silently, then aborts, on a missing outdir
    bench = get_benchmark(spec["benchmark"])
    files = read_dataset(Path(spec["dataset"]), bench)
    samples = [(f, w) for f in files for w in range(bench.windows_per_file if spec["all_windows"] else 1)]
    session = DutSession(open_link(spec["url"], spec["baud"]), DeviceLog(out / "log.txt"))
    session.identify()
    with (out / "device_latency.jsonl").open("w", encoding="utf-8") as sidecar:
        board = _BoardSut(lg, session, samples, bench, sidecar, spec["infer_timeout"])
        thread = threading.Thread(target=board.serve, daemon=True)
        thread.start()
        sut = lg.ConstructSUT(board.issue, lambda: None)
        qsl = lg.ConstructQSL(len(samples), min(spec["performance_sample_count"], len(samples)), board.load,
                              lambda _: None)
        log_settings = lg.LogSettings()
        log_settings.log_output.outdir = str(out)
        log_settings.log_output.copy_summary_to_stdout = False
        log_settings.enable_trace = False
        lg.StartTestWithLogSettings(sut, qsl, _settings(lg, spec), log_settings, str(out / "no-audit.config"))
        board.work.put(None)
        thread.join()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    session.close()
    (out / "child.json").write_text(json.dumps({"errors": board.errors, "samples": len(samples)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
