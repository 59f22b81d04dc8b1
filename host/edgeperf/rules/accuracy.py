"""Accuracy mode: every sample uploaded and inferred once (`infer 1 0`), scored with the benchmark's metric.

Anomaly-detection files are inferred window by window and scored as the mean window score.
Each file's result is journaled as soon as it is known, so an interrupted run resumes
where it stopped instead of starting over. A sample hit by a link or board fault is uploaded
and inferred again from scratch (`DutSession.measure`), and its results are read twice
(`infer`, then `results`) so a digit garbled on the link cannot pass unseen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..benchmarks import Benchmark
from ..errors import ConfigError, ProtocolError
from ..datasets import DatasetFile
from ..dut import DutSession
from ..protocol.eembc import InferReply
from ..golden import GoldenCheck
from ..metrics import binary_auc, one_vs_rest_auc, top1
from ..results.journal import Journal
from . import mlperf_tiny as rules
from .progress import Progress

#: Size of the official accuracy sets (ad01 also accepts the 72-file alternative list).
OFFICIAL_SET_SIZES = {"kws01": (1000,), "vww01": (1000,), "ic01": (200,), "ad01": (248, 72)}
#: Host deadline for the first `infer 1 0`: generous, a single inference on the slowest board is seconds.
#: Later ones are derived from the board's measured latency, so a lost reply costs seconds, not a minute.
SINGLE_INFERENCE_TIMEOUT = 60.0


#: A sample's device time this far (relative) from the last one is measured again and kept only when confirmed:
#: a digit lost or doubled in an `m-lap-us` line moves it by far more.
LATENCY_TOLERANCE = 0.5


def _infer_timeout(latency_us: float | None) -> float:
    return SINGLE_INFERENCE_TIMEOUT if latency_us is None else min(SINGLE_INFERENCE_TIMEOUT, latency_us / 1e6 * 2 + 10)


@dataclass
class AccuracyResult:
    benchmark: str
    files: int
    labels: list[int]
    scores: list[list[float]]
    metrics: dict[str, float]
    checks: list[rules.RuleCheck]
    resumed_files: int = 0
    golden: dict[str, object] = field(default_factory=dict)
    #: Per file: device time of one inference (mean over ad01's windows); None when the board printed no timestamps.
    latencies_us: list[float | None] = field(default_factory=list)
    #: Per file: the faults met while measuring it (each touched measurement was taken again).
    faults: list[list[str]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return rules.verdict(self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": self.benchmark,
            "mode": "accuracy",
            "files": self.files,
            "resumed_files": self.resumed_files,
            "metrics": {name: {"value": value, "unit": "%" if name == "top1" else "1"} for name, value in self.metrics.items()},
            "rules": [c.to_dict() for c in self.checks],
            "verdict": self.verdict,
            "golden": self.golden,
            "samples": [{"label": label, "scores": scores, "latency_us": latency, "faults": faults}
                        for label, scores, latency, faults in zip(self.labels, self.scores, self.latencies_us,
                                                                  self.faults)],
        }


def compute_metrics(benchmark: Benchmark, scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The metrics MLPerf Tiny defines for the benchmark; the same code serves every mode that measures accuracy."""
    if benchmark.metric == "auc":
        return {"auc": binary_auc(scores[:, 0], labels == 1)}
    metrics = {"top1": top1(scores, labels)}
    if scores.shape[1] == 2:
        metrics["auc"] = binary_auc(scores[:, 1], labels == 1)
    else:
        metrics["auc"] = one_vs_rest_auc(scores, labels)
    return metrics


def dataset_fingerprint(files: list[DatasetFile]) -> str:
    digest = hashlib.sha256()
    for item in files:
        digest.update(item.path.name.encode() + b"\0" + str(item.label).encode() + b"\0" + item.read())
    return digest.hexdigest()


def _checks(benchmark: Benchmark, metrics: dict[str, float], files: int) -> list[rules.RuleCheck]:
    key = "auc" if benchmark.metric == "auc" else "top1"
    value = metrics[key]
    shown = f"AUC {value:.3f}" if key == "auc" else f"top-1 {value:.1f} %"
    target = f"AUC {benchmark.quality_target:.2f}" if key == "auc" else f"top-1 {benchmark.quality_target:g} %"
    sizes = OFFICIAL_SET_SIZES[benchmark.name]
    return [
        rules.RuleCheck("quality target", value >= benchmark.quality_target, f"{shown} against the target {target}"),
        rules.RuleCheck("official accuracy set", files in sizes,
                        f"{files} files" + ("" if files in sizes else
                                            f"; the MLPerf Tiny accuracy set has {' or '.join(map(str, sizes))}")),
    ]


def run_accuracy(session: DutSession, benchmark: Benchmark, files: list[DatasetFile], journal: Journal,
                 progress: Progress, golden: GoldenCheck | None = None) -> AccuracyResult:
    """Infer every file (every window for ad01), journaling each file's score as soon as it is complete.

    With `golden`, every window is also run on the host and the board's printed output compared.
    """
    if golden and journal.records and "golden" not in journal.records[0]:
        raise ConfigError(f"{journal.path} was written without the golden check; resume without --golden")
    done = {record["file"]: record for record in journal.records}
    resumed = len(done)
    total_windows = len(files) * benchmark.windows_per_file
    progress.begin(total=total_windows, description=f"{benchmark.name} accuracy")
    progress.advance(resumed * benchmark.windows_per_file)
    latency_us: float | None = None
    for item in files:
        if item.path.name in done:
            continue
        data = item.read()
        window_scores = []
        window_us: list[int] = []
        file_faults: list[str] = []
        problems: dict[str, list[str]] = {name: [] for name in golden.runtimes} if golden else {}
        for index in range(benchmark.windows_per_file):
            progress.status(f"{item.path.name}" + (f" window {index + 1}/{benchmark.windows_per_file}"
                                                    if benchmark.windows_per_file > 1 else ""))
            upload = benchmark.window(data, index)

            suspect: list[int] = []  # device times not yet confirmed
            sent = False

            def sample() -> InferReply:
                nonlocal sent
                if not sent or not session.loaded:  # first try, or a recovery lost the board's buffer
                    session.upload(upload)
                    sent = True
                reply = session.infer(1, 0, _infer_timeout(latency_us))
                session.confirm_results(reply)
                if reply.t0_us is not None and reply.t1_us is not None and latency_us is not None:
                    elapsed = reply.elapsed_us
                    if not any(_agree(elapsed, known) for known in (latency_us, *suspect)):
                        suspect.append(elapsed)
                        raise ProtocolError(f"{elapsed} us for one inference where about {latency_us:.0f} was expected: "
                                            "a timestamp may have been garbled on the link; measuring again to confirm")
                return reply

            reply, faults = session.measure(f"{item.path.name} window {index}", sample)
            file_faults += faults
            results = reply.results
            window_scores.append(results)
            if reply.t0_us is not None and reply.t1_us is not None:
                window_us.append(reply.elapsed_us)
                latency_us = reply.elapsed_us
            if golden:
                sample = item.path.name + (f" window {index}" if benchmark.windows_per_file > 1 else "")
                for name, problem in golden.check(sample, upload, results).items():
                    if problem:
                        problems[name].append(problem)
            progress.advance()
        record = {"file": item.path.name, "label": item.label,
                  "scores": np.mean(np.array(window_scores, dtype=np.float64), axis=0).tolist(),
                  "latency_us": float(np.mean(window_us)) if len(window_us) == len(window_scores) else None,
                  "faults": file_faults}
        if golden:
            record["golden"] = problems
        journal.append(record)
        done[item.path.name] = record
    ordered = [done[item.path.name] for item in files]
    scores = np.array([r["scores"] for r in ordered], dtype=np.float64)
    labels = np.array([r["label"] for r in ordered])
    metrics = compute_metrics(benchmark, scores, labels)
    summary: dict[str, object] = {}
    if golden:
        for name in golden.runtimes:
            found = [p for r in ordered for p in r["golden"][name]]
            summary[name] = {"compared_samples": total_windows, "mismatches": len(found), "first_mismatches": found[:20],
                             "tolerance": golden.describe_tolerance(name)}
    return AccuracyResult(benchmark.name, len(files), labels.tolist(), scores.tolist(), metrics,
                          _checks(benchmark, metrics, len(files)), resumed, summary,
                          [r.get("latency_us") for r in ordered], [r.get("faults", []) for r in ordered])


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= LATENCY_TOLERANCE * max(a, b)


def journal_header(benchmark: Benchmark, model: Path | None, files: list[DatasetFile]) -> dict[str, str]:
    model_hash = hashlib.sha256(model.read_bytes()).hexdigest() if model else "unknown"
    return {"benchmark": benchmark.name, "model_sha256": model_hash, "dataset": dataset_fingerprint(files)}
