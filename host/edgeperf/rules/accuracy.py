"""Accuracy mode: every sample uploaded and inferred once (`infer 1 0`), scored with the benchmark's metric.

Anomaly-detection files are inferred window by window and scored as the mean window score.
Each file's result is journaled as soon as it is known, so an interrupted run resumes
where it stopped instead of starting over. A sample hit by a link or board fault is uploaded
and inferred again from scratch (`DutSession.measure`), and its results are read twice
(`infer`, then `results`) so a digit garbled on the link cannot pass unseen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..benchmarks import Benchmark
from ..datasets import DatasetFile
from ..dut import DutSession
from ..dut_stream import StreamSession
from ..errors import ConfigError, ProtocolError
from ..golden import GoldenCheck
from ..metrics import binary_auc, one_vs_rest_auc, top1
from ..protocol.eembc import InferReply
from ..results.journal import Journal
from ..results.records import AccuracyResult, RuleCheck
from .measure import Deadline, Plausibility, TimingSuspect
from .progress import Progress

#: Size of the official accuracy sets (ad01 also accepts the 72-file alternative list).
OFFICIAL_SET_SIZES = {"kws01": (1000,), "vww01": (1000,), "ic01": (200,), "ad01": (248, 72)}
#: Host deadline for an `infer 1 0`: the first one gets a generous minute (a single inference on the slowest
#: board is seconds); later ones follow the board's measured latency, so a lost reply costs seconds.
DEADLINE = Deadline(unknown_seconds=60.0, cap_seconds=60.0)
#: The narrowest plausibility band of a sample's device time around the run's median (the measured spread
#: widens it): a digit lost or doubled in an `m-lap-us` line moves it by far more.
LATENCY_TOLERANCE = 0.5
#: A resumed run's re-measured sample may take at most this factor more or less device time than the journal
#: says: a board at another clock or with another build is refused, timing noise and warm-up are not.
SAME_BOARD_SPEED = 1.5


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


def _checks(benchmark: Benchmark, metrics: dict[str, float], files: int) -> list[RuleCheck]:
    key = "auc" if benchmark.metric == "auc" else "top1"
    value = metrics[key]
    shown = f"AUC {value:.3f}" if key == "auc" else f"top-1 {value:.1f} %"
    target = f"AUC {benchmark.quality_target:.2f}" if key == "auc" else f"top-1 {benchmark.quality_target:g} %"
    sizes = OFFICIAL_SET_SIZES[benchmark.data_name]
    return [
        RuleCheck("quality target", value >= benchmark.quality_target, f"{shown} against the target {target}"),
        RuleCheck("official accuracy set", files in sizes,
                  f"{files} files" + ("" if files in sizes else
                                      f"; the MLPerf Tiny accuracy set has {' or '.join(map(str, sizes))}")),
    ]


class _Sampler:
    """Uploads and infers one window at a time; every reply's results are read twice and its time checked."""

    def __init__(self, session: DutSession, benchmark: Benchmark, progress: Progress) -> None:
        self.session = session
        self.benchmark = benchmark
        self.progress = progress
        #: Device time of the last sample's inference, once one has printed timestamps.
        self.latency_us: float | None = None
        #: Every sample's latency so far: a garbled one lies outside their spread.
        self.plausible = Plausibility(LATENCY_TOLERANCE, early=True)
        #: Binary version 2: the next input streams in while the board infers (None: upload, then infer).
        self.stream = StreamSession(session) if session.stream_capable else None
        self._sent = False

    def _infer(self, upload: bytes, following: bytes | None) -> InferReply:
        """One inference of `upload`: streamed (results in CRC-checked frames), or ASCII read twice."""
        session, timeout = self.session, DEADLINE.seconds(1, 0, self.latency_us)
        if self.stream is not None:
            return self.stream.sample(upload, following, timeout)
        if not self._sent or not session.loaded:  # first try, or a recovery lost the board's buffer
            session.upload(upload)
            self._sent = True
        reply = session.infer(1, 0, timeout)
        session.confirm_results(reply)
        return reply

    def sample(self, label: str, upload: bytes, following: bytes | None = None) -> tuple[InferReply, list[str]]:
        session, plausible = self.session, self.plausible
        self._sent = False

        def body() -> InferReply:
            reply = self._infer(upload, following)
            if reply.t0_us is not None and reply.t1_us is not None:
                try:
                    plausible.check(reply.elapsed_us)
                except TimingSuspect as suspect:
                    # One inference has no bracketing timestamps: far outside the spread, it counts as garbled.
                    raise ProtocolError(str(suspect)) from suspect
            return reply

        reply, faults = session.measure(label, body)
        if reply.t0_us is not None and reply.t1_us is not None:
            self.latency_us = reply.elapsed_us
            plausible.accept(reply.elapsed_us)
        return reply, faults

    def file(self, item: DatasetFile, golden: GoldenCheck | None, after: DatasetFile | None = None) -> dict[str, object]:
        """Every window of one file, as the journal record of its mean score (and its golden comparison).

        `after`: the file measured next, whose first window streams in during this file's last inference.
        """
        bench, data = self.benchmark, item.read()
        scores: list[list[float]] = []
        times: list[int] = []
        faults: list[str] = []
        problems: dict[str, list[str]] = {name: [] for name in golden.runtimes} if golden else {}
        for index in range(bench.windows_per_file):
            label = item.path.name + (f" window {index + 1}/{bench.windows_per_file}" if bench.windows_per_file > 1 else "")
            self.progress.status(label)
            upload = bench.window(data, index)
            following = (bench.window(data, index + 1) if index + 1 < bench.windows_per_file
                         else bench.window(after.read(), 0) if after is not None and self.stream else None)
            reply, seen = self.sample(f"{item.path.name} window {index}", upload, following)
            faults += seen
            scores.append(reply.results)
            if reply.t0_us is not None and reply.t1_us is not None:
                times.append(reply.elapsed_us)
            if golden:
                sample = item.path.name + (f" window {index}" if bench.windows_per_file > 1 else "")
                for name, problem in golden.check(sample, upload, reply.results).items():
                    if problem:
                        problems[name].append(problem)
            self.progress.advance()
        record: dict[str, object] = {
            "file": item.path.name, "label": item.label,
            "scores": np.mean(np.array(scores, dtype=np.float64), axis=0).tolist(),
            "latency_us": float(np.mean(times)) if len(times) == len(scores) else None, "faults": faults}
        if golden:
            record["golden"] = problems
        return record


def _golden_summary(golden: GoldenCheck, ordered: list[dict], compared: int) -> dict[str, object]:
    summary: dict[str, object] = {}
    for name in golden.runtimes:
        found = [p for r in ordered for p in r["golden"][name]]
        summary[name] = {"compared_samples": compared, "mismatches": len(found), "first_mismatches": found[:20],
                         **golden.describe(name)}
    return summary


def run_accuracy(session: DutSession, benchmark: Benchmark, files: list[DatasetFile], journal: Journal,
                 progress: Progress, golden: GoldenCheck | None = None) -> AccuracyResult:
    """Infer every file (every window for ad01), journaling each file's score as soon as it is complete.

    With `golden`, every window is also run on the host and the board's printed output compared.
    """
    if golden and journal.records and "golden" not in journal.records[0]:
        raise ConfigError(f"{journal.path} was written without the golden check; resume without --golden")
    done = {record["file"]: record for record in _checked(journal)}
    resumed = len(done)
    total_windows = len(files) * benchmark.windows_per_file
    progress.begin(total=total_windows + (benchmark.windows_per_file if resumed else 0),
                   description=f"{benchmark.name} accuracy")
    progress.advance(resumed * benchmark.windows_per_file)
    sampler = _Sampler(session, benchmark, progress)
    resume_check = _same_board(sampler, files, done) if resumed else None
    todo = [item for item in files if item.path.name not in done]
    for item, after in zip(todo, todo[1:] + [None]):
        done[item.path.name] = record = sampler.file(item, golden, after)
        journal.append(record)
    if sampler.stream is not None:
        sampler.stream.close()
    ordered = [done[item.path.name] for item in files]
    scores = np.array([r["scores"] for r in ordered], dtype=np.float64)
    labels = np.array([r["label"] for r in ordered])
    metrics = compute_metrics(benchmark, scores, labels)
    return AccuracyResult(benchmark=benchmark.name, files=len(files), labels=labels.tolist(), scores=scores.tolist(),
                          metrics=metrics, checks=_checks(benchmark, metrics, len(files)), resumed_files=resumed,
                          golden=_golden_summary(golden, ordered, total_windows) if golden else {},
                          latencies_us=[r.get("latency_us") for r in ordered],
                          faults=[r.get("faults", []) for r in ordered], resume_check=resume_check)


def _checked(journal: Journal) -> list[dict]:
    """The journal's records, each with what a result needs: a hand-edited record is an error, not a crash."""
    for number, record in enumerate(journal.records, start=2):
        missing = [key for key in ("file", "label", "scores") if key not in record]
        if missing or not isinstance(record.get("scores"), list):
            raise ConfigError(f"{journal.path} line {number}: the record lacks {', '.join(missing) or 'a scores list'}; "
                              "the journal was edited by hand: restore it or start a new run")
    return journal.records


def _same_board(sampler: _Sampler, files: list[DatasetFile], done: dict[str, dict]) -> str:
    """Measure the first journalled file again: a board whose scores differ runs another model, one whose time
    differs by far runs at another clock or build. This is the only model check when the model file is unknown."""
    item = next(f for f in files if f.path.name in done)
    kept, again = done[item.path.name], sampler.file(item, None)
    if again["scores"] != kept["scores"]:
        raise ConfigError(f"the board scores {item.path.name} as {again['scores']}, but the journal that is resumed "
                          f"has {kept['scores']}: this board runs another model than the run that wrote "
                          f"{sampler.benchmark.name}'s journal; resume on that board, or start a new run")
    before, now = kept.get("latency_us"), again.get("latency_us")
    if isinstance(before, float) and isinstance(now, float) and not (
            before / SAME_BOARD_SPEED <= now <= before * SAME_BOARD_SPEED):
        raise ConfigError(f"one inference of {item.path.name} takes {now / 1000:.1f} ms on this board, but "
                          f"{before / 1000:.1f} ms in the journal that is resumed: the board runs at another clock or "
                          "with another build; resume on the board and settings that wrote it, or start a new run")
    timing = f", {now / 1000:.1f} ms against {before / 1000:.1f} ms" if isinstance(before, float) and \
        isinstance(now, float) else ""
    return f"{item.path.name} measured again on resume: the same scores{timing}"


def journal_header(benchmark: Benchmark, model: Path | None, files: list[DatasetFile],
                   board: dict[str, object]) -> dict[str, object]:
    """What a resumed run must share with the one that wrote the journal: benchmark, model, dataset, and the
    board's identity and settings (`board`: its name, profile, build, description file, clock, baud ...)."""
    model_hash = hashlib.sha256(model.read_bytes()).hexdigest() if model else "unknown"
    return {"benchmark": benchmark.name, "model_sha256": model_hash, "dataset": dataset_fingerprint(files),
            "board": board}
