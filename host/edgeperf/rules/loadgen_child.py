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
from pathlib import Path

from ..benchmarks import get_benchmark
from ..datasets import read_dataset
from ..dut import DutSession
from ..errors import EdgeperfError
from ..links import open_link
from ..protocol.transcript import DeviceLog


def _settings(lg, spec: dict):
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, spec["scenario"])
    settings.mode = getattr(lg.TestMode, spec["mode"])
    for key, value in spec["settings"].items():
        setattr(settings, key, value)
    return settings


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
    sidecar = (out / "device_latency.jsonl").open("w", encoding="utf-8")
    errors: list[str] = []
    work: queue.Queue = queue.Queue()
    timeout = spec["infer_timeout"]

    def load(indices: list[int]) -> None:
        for index in indices:
            item, window = samples[index]
            try:
                session.upload(bench.window(item.read(), window))
            except EdgeperfError as exc:
                errors.append(f"upload of sample {index} failed: {exc}")

    def worker() -> None:
        # One persistent thread talks to the board and completes every sample (LoadGen crashes when
        # short-lived threads complete samples).
        while True:
            batch = work.get()
            if batch is None:
                return
            for sample_id, index in batch:
                payload = b""
                try:
                    if errors:
                        raise EdgeperfError(errors[0])
                    reply = session.infer(1, 0, timeout)
                    payload = array.array("f", reply.results).tobytes()
                    sidecar.write(json.dumps({"qsl_idx": index, "device_us": reply.elapsed_us}) + "\n")
                except EdgeperfError as exc:
                    if not errors:
                        errors.append(f"sample {index}: {exc}")
                buffer = array.array("B", payload)
                address, length = buffer.buffer_info()
                lg.QuerySamplesComplete([lg.QuerySampleResponse(sample_id, address, length)])

    def issue(query_samples) -> None:
        work.put([(s.id, s.index) for s in query_samples])

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(len(samples), min(spec["performance_sample_count"], len(samples)), load, lambda _: None)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(out)
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = False
    lg.StartTestWithLogSettings(sut, qsl, _settings(lg, spec), log_settings, str(out / "no-audit.config"))
    work.put(None)
    thread.join()
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    sidecar.close()
    session.link.close()
    (out / "child.json").write_text(json.dumps({"errors": errors, "samples": len(samples)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
