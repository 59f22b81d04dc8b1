"""LoadGen scenarios (SingleStream, MultiStream, Offline, Server) on any board, the way larger systems are measured.

MLCommons LoadGen is the scenario engine, unmodified; each test runs in a child process
(rules/loadgen_child.py) under a watchdog. Settings come from the edge/MCU profile below,
scaled by a short probe of the board, never from LoadGen's server-sized defaults; every value
used is written with the results. Two latencies are reported side by side: LoadGen's host
end-to-end latency (it includes the link) and the board's own timer per inference, given the
same percentile and early-stopping treatment LoadGen applies.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..benchmarks import Benchmark
from ..datasets import DatasetFile
from ..dut import DutSession
from ..errors import ConfigError, DeviceError
from .accuracy import compute_metrics

SCENARIOS = {"singlestream": "SingleStream", "multistream": "MultiStream", "offline": "Offline", "server": "Server"}
MODES = {"performance": "PerformanceOnly", "accuracy": "AccuracyOnly"}
SEEDS = {"qsl_rng_seed": 1234, "sample_index_rng_seed": 5678, "schedule_rng_seed": 9012}
OPTIMISM = 2.0


@dataclass(frozen=True)
class EdgeProfile:
    """The edge/MCU settings profile: run lengths a small board finishes, percentiles early stopping can meet."""

    min_duration_ms: int = 10_000
    min_query_count: int = 64              # the p90 early-stopping minimum
    target_percentile: float = 0.90        # MultiStream and Server too: p99 needs 662 queries
    multi_stream_samples_per_query: int = 8
    server_load: float = 0.5               # Server target QPS as a fraction of the probed capacity
    server_latency_bound: float = 5.0      # Server latency bound as a multiple of the probed latency
    query_timeout_s: float = 60.0          # one query longer than this means the board hung
    profile: str = "full"                  # "quick": the report flags the run as development-only

    @classmethod
    def quick(cls) -> EdgeProfile:
        """For development: short runs that LoadGen will usually call INVALID."""
        return cls(min_duration_ms=1000, min_query_count=8, profile="quick")


def loadgen_settings(scenario: str, mode: str, latency_s: float, profile: EdgeProfile, samples: int) -> dict[str, object]:
    """Every TestSettings value edgeperf sets, from the profile and the probed host latency of one query."""
    settings: dict[str, object] = {
        **SEEDS,
        "min_duration_ms": profile.min_duration_ms,
        "min_query_count": profile.min_query_count,
        "performance_sample_count_override": 1,  # the board holds one input
    }
    if mode == "accuracy":
        settings["accuracy_sample_count_override"] = samples
    # Expected latencies and QPS are set OPTIMISM times better than probed: LoadGen pre-generates queries from
    # them, and a board that turns out faster than its probe must not run out of queries ("Ending early").
    expected_s = latency_s / OPTIMISM
    if scenario == "singlestream":
        settings["single_stream_expected_latency_ns"] = int(expected_s * 1e9)
        settings["single_stream_target_latency_percentile"] = profile.target_percentile
    elif scenario == "multistream":
        settings["multi_stream_samples_per_query"] = profile.multi_stream_samples_per_query
        settings["multi_stream_expected_latency_ns"] = int(expected_s * profile.multi_stream_samples_per_query * 1e9)
        settings["multi_stream_target_latency_percentile"] = profile.target_percentile
    elif scenario == "offline":
        settings["offline_expected_qps"] = 1.0 / expected_s
        settings["min_query_count"] = 1
    else:
        settings["server_target_qps"] = profile.server_load / latency_s
        settings["server_target_latency_ns"] = int(profile.server_latency_bound * latency_s * 1e9)
        settings["server_target_latency_percentile"] = profile.target_percentile
    return settings


def probe_query_latency(session: DutSession, benchmark: Benchmark, first: DatasetFile, queries: int = 5) -> float:
    """Host seconds per `infer 1 0` on a resident input: what one LoadGen query will cost."""
    session.upload(benchmark.window(first.read()))
    session.infer(1, 0, 60.0)  # the first run may include one-time work
    start = time.monotonic()
    for _ in range(queries):
        session.infer(1, 0, 60.0)
    return (time.monotonic() - start) / queries


# ---- early stopping, as LoadGen computes it (binomial bound at 0.99 confidence)

def _odds(h: int, t: int, p: float) -> float:
    """P(at most t of h + t queries over the percentile), each term in log space: comb(n, k) overflows a float."""
    n = h + t
    log_p, log_q = math.log(p), math.log1p(-p)
    return sum(math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (n - k) * log_p + k * log_q)
               for k in range(t + 1))


def _min_passing(t: int, p: float, confidence: float = 0.99) -> int:
    high = 1
    while _odds(high, t, p) >= 1 - confidence:
        high *= 2
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if _odds(mid, t, p) < 1 - confidence else (mid, high)
    return high


def early_stopping_estimate(latencies: list[float], p: float) -> float | None:
    """The percentile estimate LoadGen's early-stopping rule gives for these latencies (None if too few)."""
    n = len(latencies)
    if n < _min_passing(1, p) + 1:
        return None
    t = 1
    while n >= _min_passing(t + 1, p) + t + 1:
        t += 1
    return sorted(latencies)[n - t]


def percentile(latencies: list[float], p: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)]


# ---- parsing LoadGen's logs

def parse_detail(path: Path) -> dict[str, object]:
    """Key/value pairs of `mlperf_log_detail.txt` (`:::MLLOG {json}` lines); errors collected under `errors`."""
    values: dict[str, Any] = {"errors": []}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith(":::MLLOG "):
            continue
        try:
            record = json.loads(line[len(":::MLLOG "):])
        except ValueError:
            continue
        if record.get("metadata", {}).get("is_error"):
            values["errors"].append(f"{record.get('key')}: {record.get('value')}")
        values[str(record.get("key"))] = record.get("value")
    return values


#: LoadGen's own checks in `mlperf_log_detail.txt`, each a reason for an INVALID result when false.
VALIDITY_CHECKS = {"result_min_duration_met": "min duration not satisfied",
                   "result_min_queries_met": "min queries not satisfied",
                   "early_stopping_met": "early stopping not satisfied",
                   "result_perf_constraints_met": "latency constraint not satisfied"}


def invalid_reasons(detail: dict[str, object], summary: Path) -> list[str]:
    """Why LoadGen called a run INVALID, in its words: each failed check of the detail log, its stated reason,
    and the recommendations `mlperf_log_summary.txt` lists under them (e.g. how many queries were needed)."""
    reasons = [text for key, text in VALIDITY_CHECKS.items() if detail.get(key) is False]
    if detail.get("result_invalid_reason"):
        reasons.append(str(detail["result_invalid_reason"]))
    lines = summary.read_text(errors="replace").splitlines() if summary.is_file() else []
    start = next((i for i, line in enumerate(lines) if line.startswith("Recommendations:")), len(lines))
    advice = []
    for line in lines[start + 1:]:
        if line.startswith("="):
            break
        if line.strip().startswith("* "):
            advice.append(line.strip()[2:].rstrip("."))
    return reasons + advice or ["LoadGen gave no reason"]


def accuracy_from_log(path: Path, benchmark: Benchmark, samples: list[tuple[DatasetFile, int]]) -> dict[str, float]:
    """Decode `mlperf_log_accuracy.json` (float32 results per QSL index) and score it with the accuracy-mode metric code."""
    per_file: dict[str, list[np.ndarray]] = {}
    seen: set[int] = set()
    for entry in json.loads(path.read_text()):
        index = int(entry["qsl_idx"])
        if index in seen:
            continue
        seen.add(index)
        data = bytes.fromhex(entry["data"])
        if not data:
            raise DeviceError(f"sample {index} has no result: the board failed during the LoadGen run")
        per_file.setdefault(samples[index][0].path.name, []).append(np.frombuffer(data, "<f4"))
    files = [f for f in dict.fromkeys(s[0] for s in samples) if f.path.name in per_file]
    scores = np.array([np.mean(per_file[f.path.name], axis=0) for f in files], dtype=np.float64)
    labels = np.array([f.label for f in files])
    return compute_metrics(benchmark, scores, labels)


@dataclass
class ScenarioRun:
    url: str
    baud: int
    benchmark: Benchmark
    dataset: Path
    files: list[DatasetFile]
    #: Host seconds the child waits for one `infer 1 0` before it declares the board hung.
    infer_timeout: float = 60.0

    def run(self, scenario: str, mode: str, settings: dict[str, Any], outdir: Path, deadline_s: float) -> dict:
        if scenario not in SCENARIOS or mode not in MODES:
            raise ConfigError(f"unknown scenario {scenario!r} or mode {mode!r}")
        outdir.mkdir(parents=True, exist_ok=True)
        all_windows = mode == "accuracy"
        spec = {"url": self.url, "baud": self.baud, "benchmark": self.benchmark.name, "dataset": str(self.dataset),
                "scenario": SCENARIOS[scenario], "mode": MODES[mode], "settings": settings, "outdir": str(outdir),
                "all_windows": all_windows, "performance_sample_count": 1, "infer_timeout": self.infer_timeout}
        spec_path = outdir / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=2))
        with (outdir / "child.log").open("w") as log:
            package_root = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
            child = subprocess.Popen([sys.executable, "-m", "edgeperf.rules.loadgen_child", str(spec_path)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                code = child.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                raise DeviceError(f"LoadGen {scenario}/{mode} did not finish within {deadline_s:.0f} s; the child was "
                                  f"killed (the board stopped answering?). See {outdir / 'child.log'}") from None
        report = json.loads((outdir / "child.json").read_text()) if (outdir / "child.json").exists() else None
        if code != 0 or report is None:
            raise DeviceError(f"LoadGen {scenario}/{mode} child failed with exit code {code}; see {outdir / 'child.log'}")
        if report["errors"]:
            raise DeviceError(f"the board failed during LoadGen {scenario}/{mode}: {report['errors'][0]}")
        return self._summarise(scenario, mode, settings, outdir)

    def _summarise(self, scenario: str, mode: str, settings: dict[str, Any], outdir: Path) -> dict:
        detail = parse_detail(outdir / "mlperf_log_detail.txt")
        result: dict[str, object] = {"scenario": scenario, "mode": mode, "settings": settings,
                                     "loadgen_version": detail.get("loadgen_version"),
                                     "loadgen_errors": detail["errors"],
                                     "files": sorted(p.name for p in outdir.glob("mlperf_log_*"))}
        samples = [(f, w) for f in self.files for w in range(self.benchmark.windows_per_file if mode == "accuracy" else 1)]
        if mode == "accuracy":
            result["metrics"] = accuracy_from_log(outdir / "mlperf_log_accuracy.json", self.benchmark, samples)
            return result
        p = float(settings.get("single_stream_target_latency_percentile", settings.get(
            "multi_stream_target_latency_percentile", settings.get("server_target_latency_percentile", 0.9))))
        queries = [json.loads(line) for line in (outdir / "device_latency.jsonl").read_text().splitlines()]
        device = [q["device_us"] / 1000 for q in queries]
        result["validity"] = detail.get("result_validity")
        if result["validity"] != "VALID":
            result["invalid_reasons"] = invalid_reasons(detail, outdir / "mlperf_log_summary.txt")
        result["host_e2e_latency_ms"] = {
            "definition": "LoadGen: query issue to completion on the host (includes the link)",
            f"p{p * 100:g}": _ms(detail.get(f"result_{p * 100:.2f}_percentile_latency_ns")),
            "mean": _ms(detail.get("result_mean_latency_ns")),
            "early_stopping_estimate": _ms(detail.get({"singlestream": "early_stopping_latency_ss",
                                                       "multistream": "early_stopping_latency_ms"}.get(scenario, ""))),
            "samples_per_second": detail.get({"singlestream": "result_qps_with_loadgen_overhead",
                                              "offline": "result_samples_per_second",
                                              "server": "result_completed_samples_per_sec"}.get(scenario, "")),
        }
        result["device_latency_ms"] = {
            "definition": "the board's own timer (m-lap-us) around each inference",
            f"p{p * 100:g}": percentile(device, p) if device else None,
            "mean": float(np.mean(device)) if device else None,
            "early_stopping_estimate": early_stopping_estimate(device, p),
            "samples": len(device),
        }
        result["per_query"] = per_query(queries)
        return result


def per_query(queries: list[dict[str, Any]]) -> dict[str, object]:
    """Each query's issue time and latencies, for the report's plots (the child's own clock, not LoadGen's)."""
    return {"definition": "per query, in issue order: seconds from the first issue; the board's timer (ms); "
                          "the child's time from LoadGen's issue call to the reply (ms)",
            "issued_s": [q.get("issued_s") for q in queries],
            "device_ms": [round(q["device_us"] / 1000, 4) for q in queries],
            "host_ms": [round(q["host_us"] / 1000, 4) if "host_us" in q else None for q in queries]}


def _ms(ns: object) -> float | None:
    return float(ns) / 1e6 if isinstance(ns, (int, float)) else None
