"""Human summaries: the MLPerf Tiny runner's results.txt lines, plus edgeperf's rule verdicts."""

from __future__ import annotations

import time

from .layers import memory_lines, profile_lines
from .records import AccuracyResult, EnergyResult, PerformanceResult, StreamingResult
from .schema import Document


def _stamp() -> str:
    # The MLCommons runner prefixes score lines with MMDD.HHMMSS; the submission checker's regexes expect a prefix.
    return time.strftime("%m%d.%H%M%S")


def iterations_per_window(windows: list[dict]) -> str:
    """One count when every window ran it; otherwise each window's, so unequal windows never look equal."""
    counts = [w["iterations"] for w in windows]
    if len(set(counts)) == 1:
        return str(counts[0])
    return "differ: " + ", ".join(f"window {w['index']} {w['iterations']} in {w['seconds']:.3f} s" for w in windows)


def performance_text(result: PerformanceResult) -> str:
    """results.txt for one benchmark in the MLC runner's wording, so existing submission scripts read it."""
    lines: list[str] = []
    for w in result.windows:
        lines += [
            f"Performance results for window {w.index}",
            f"    # Inferences : {w.iterations}",
            f"    Runtime: {w.seconds:.6f} sec.",
            f"    Throughput: {w.throughput:.6f} inf./sec.",
        ]
        if w.runtime_met:
            lines.append("    Runtime requirements have been met.")
        else:
            lines.append("    Runtime requirements have NOT been met (at least 10 s and 10 inferences).")
    lines.append(f"{_stamp()} ulp-mlperf: Median throughput is {result.median_throughput:10.3f} inf./sec.")
    lines.append(f"{_stamp()} edgeperf: Latency (1000 / median throughput) is {result.latency_ms:.3f} ms")
    lines.append(f"{_stamp()} edgeperf: {result.verdict}")
    return "\n".join(lines) + "\n"


def energy_text(result: EnergyResult) -> str:
    """results.txt for an energy run in the MLC runner's wording, plus how the windows were bounded."""
    lines: list[str] = []
    for w in result.windows:
        lines += [
            f"Energy results for window {w.index}",
            f"    # Inferences : {w.iterations}",
            f"    Runtime: {w.seconds:.6f} sec.",
            f"    Energy: {w.energy_uj:.3f} uJ, {w.uj_per_inference:.3f} uJ/inf., average power {w.average_power_mw:.4f} mW",
            f"    Throughput: {w.throughput:.6f} inf./sec.",
        ]
        if w.repeated:
            lines.append(f"    Measured {w.repeated + 1} times; rejected attempts: " + "; ".join(w.faults or ["too short"]))
    mon = result.monitor
    lines.append(f"{_stamp()} ulp-mlperf: Median energy cost is {result.median_uj:.3f} uJ/inf.")
    lines.append(f"{_stamp()} edgeperf: median power {result.median_power_mw:.4f} mW, median throughput "
                 f"{result.median_throughput:.3f} inf./sec.")
    lines.append(f"{_stamp()} edgeperf: monitor {mon['monitor']} at {mon['sample_rate_hz']:g} Hz, {mon['edge']} edges, "
                 f"voltage {mon['voltage_v']:g} V ({mon['voltage_source']})")
    for recovery in result.recoveries:
        lines.append(f"{_stamp()} edgeperf: recovery: {recovery}")
    lines.append(f"{_stamp()} edgeperf: {result.verdict}")
    return "\n".join(lines) + "\n"


def accuracy_text(result: AccuracyResult) -> str:
    """results.txt for an accuracy run, with the score lines the submission checker's regexes read."""
    lines = []
    if "top1" in result.metrics:
        lines.append(f"{_stamp()} ulp-mlperf: Top 1% = {result.metrics['top1']:.1f}")
    lines.append(f"{_stamp()} ulp-mlperf: AUC = {result.metrics['auc']:.3f}")
    lines.append(f"{_stamp()} edgeperf: {result.files} files; {result.verdict}")
    return "\n".join(lines) + "\n"


def fault_summary(session: object) -> str | None:
    """One line on what the link and the board did wrong and what the host did about it; None on a clean run."""
    if not isinstance(session, dict):
        return None
    counts = [(session.get(key, 0), label) for key, label in (
        ("repeated_measurements", "measurements taken again"), ("board_resets", "board reboots seen"),
        ("hangs", "hangs"), ("resets_sent", "resets sent"), ("reconnects", "ports reopened"),
        ("command_retries", "command retries"), ("upload_restarts", "upload restarts"),
        ("stray_lines", "stray lines ignored"))]
    seen = [f"{count} {label}" for count, label in counts if count]
    return "link/board faults: " + ", ".join(seen) + " (details: session.faults in results.json)" if seen else None


def golden_lines(entry: Document) -> list[str]:
    """One line per host runtime of an accuracy run's golden check: its role, its tolerance and the outcome."""
    acc = entry.get("accuracy")
    checks = acc.get("golden", {}) if isinstance(acc, dict) else {}
    lines = []
    for runtime, g in checks.items():
        role = "reference" if g.get("reference") else "cross-check"
        outcome = (f"all {g['compared_samples']} samples within tolerance" if not g["mismatches"] else
                   f"{g['mismatches']} of {g['compared_samples']} samples outside tolerance, first: "
                   f"{g['first_mismatches'][0]}")
        lines.append(f"{entry['benchmark']} golden {runtime} ({role}, {g['tolerance']}): {outcome}")
    return lines


def streaming_lines(section: Document) -> list[str]:
    """An sww01 run's block of the top-level summary: counts, duty cycle, throughput (and power) per stream."""
    out = [f"  Detections scored with a {section['settings']['delay_s']:g} s delay after each word"]
    for s in section["streams"]:
        out.append(f"  {s['wav_file']}: {s['true_positives']} TP, {s['false_negatives']} FN, {s['false_positives']} FP"
                   f" of {s['words']} words; duty cycle {s['duty_cycle']['value']:.5f}, estimated throughput "
                   f"{s['throughput']['value']:.3f} inf./sec." +
                   (f", power {s['power_mw']['value']:.4f} mW" if s.get("power_mw") else ""))
        out += [f"    WARNING: {w}" for w in s["warnings"]]
    for rule in section["rules"]:
        out.append(f"  [{'met' if rule['met'] else 'NOT met'}] {rule['rule']}: {rule['detail']}")
    out.append(f"  Verdict: {section['verdict']}")
    return out


def loadgen_validity(loadgen: Document) -> str:
    """LoadGen's verdict on a performance run, with its reasons when it is not VALID."""
    validity = str(loadgen.get("validity"))
    reasons = loadgen.get("invalid_reasons")
    return f"{validity} ({'; '.join(map(str, reasons))})" if validity != "VALID" and reasons else validity


def run_summary(entries: list[Document]) -> str:
    """The top-level results.txt: one block per benchmark with its numbers and every rule check."""
    out: list[str] = ["edgeperf results", ""]
    for entry in entries:
        perf = entry.get("performance")
        board = entry.get("board", {})
        out.append(f"== {entry['benchmark']} on {board.get('description', board.get('url', '?'))} ==")
        if board.get("timing_note"):
            out.append(f"  Timing: {board['timing_note']}")
        faults = fault_summary(entry.get("session"))
        if faults:
            out.append(f"  {faults}")
        dataset = entry.get("dataset")
        if isinstance(dataset, dict) and dataset.get("note"):
            out.append(f"  Note: {dataset['note']}")
        if entry.get("error"):
            out.append(f"  FAILED: {entry['error']}")
            out.append("")
            continue
        stream = next((s for s in (entry.get("performance"), entry.get("energy"))
                       if isinstance(s, dict) and s.get("kind") == "streaming"), None)
        if stream is not None:
            out += streaming_lines(stream) + [""]
            continue
        lg = entry.get("loadgen")
        if isinstance(lg, dict):
            out.append(f"  LoadGen {lg['scenario']} {lg['mode']} ({lg.get('loadgen_version')}), settings {lg['settings']}")
            if "metrics" in lg:
                out += [f"  {name}: {value:.3f}" for name, value in lg["metrics"].items()]
            else:
                out.append(f"  LoadGen result: {loadgen_validity(lg)}")
                for key in ("host_e2e_latency_ms", "device_latency_ms"):
                    out.append(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in lg[key].items()))
        acc = entry.get("accuracy")
        if isinstance(acc, dict):
            for name, metric in acc["metrics"].items():
                out.append(f"  {'Top-1' if name == 'top1' else 'AUC'}: {metric['value']:.3f}{' %' if name == 'top1' else ''}")
            out.append(f"  Files: {acc['files']} ({acc['resumed_files']} taken from the journal of an interrupted run)")
            for rule in acc["rules"]:
                out.append(f"  [{'met' if rule['met'] else 'NOT met'}] {rule['rule']}: {rule['detail']}")
            out.append(f"  Verdict: {acc['verdict']}")
            out += [f"  {line}" for line in golden_lines(entry)]
        energy = entry.get("energy")
        if isinstance(energy, dict):
            mon = energy["monitor"]
            out.append(f"  Median energy     : {energy['median_energy']['value']:.3f} uJ/inf.")
            out.append(f"  Median power      : {energy['median_power']['value']:.4f} mW")
            out.append(f"  Monitor           : {mon['monitor']} {mon['sample_rate_hz']:g} Hz, {mon['edge']} edges")
            for w in energy["windows"]:
                out.append(f"    window {w['index']}: {w['file']}: {w['iterations']} inf. in {w['seconds']:.4f} s = "
                           f"{w['uj_per_inference']:.3f} uJ/inf." + (f" (measured {w['repeated'] + 1} times)"
                                                                     if w["repeated"] else ""))
            for rule in energy["rules"]:
                out.append(f"  [{'met' if rule['met'] else 'NOT met'}] {rule['rule']}: {rule['detail']}")
            out.append(f"  Verdict: {energy['verdict']}")
        if isinstance(perf, dict):
            out.append(f"  Median throughput : {perf['median_throughput']['value']:.3f} inf./sec.")
            out.append(f"  Latency           : {perf['latency']['value']:.3f} ms")
            out.append(f"  Iterations/window : {iterations_per_window(perf['windows'])}")
            for w in perf["windows"]:
                out.append(f"    window {w['index']}: {w['file']}: {w['iterations']} inf. in {w['seconds']:.3f} s "
                           f"= {w['throughput']:.3f} inf./sec." + (f" ({len(w['faults'])} faults met; every "
                                                                   "measurement they touched was taken again)"
                                                                   if w.get("faults") else ""))
            for rule in perf["rules"]:
                out.append(f"  [{'met' if rule['met'] else 'NOT met'}] {rule['rule']}: {rule['detail']}")
            out.append(f"  Verdict: {perf['verdict']}")
            out += profile_lines(entry)
        out += [f"  Memory: {line}" for line in memory_lines(entry.get("memory"))]
        out.append("")
    return "\n".join(out)


def streaming_text(result: StreamingResult) -> str:
    """results.txt for an sww01 run, with the lines the submission checker's regexes read."""
    delay = result.settings.get("delay_s")
    lines: list[str] = []
    for s in result.streams:
        lines += [
            f"Streaming results for {s.wav_file} ({s.length_s:g} s, {s.words} wake words)",
            (f"Accuracy: {s.true_positives} True positives, {s.false_negatives} False negatives, "
            f"{s.false_positives} False positives"),
            f"Average duty cycle: {s.duty_cycle:.5f}",
            f"Average period: {s.mean_period_s:.6f} s",
            f"Estimated throughput: {s.throughput:.3f} inf./sec.",
        ]
        if s.power_mw is not None:
            lines.append(f"  Power         : {s.power_mw:.4f} mW")
        lines.append(f"    {s.frames_processed} frames processed of {s.frames_expected} expected; a detection counts "
                     f"within {delay:g} s after a word's end")
        if s.dut_frames is not None:
            lines.append(f"    the DUT logged {s.dut_frames} frames, {s.dut_frames_above_threshold} above its threshold")
        lines += [f"    WARNING: {w}" for w in s.warnings]
    lines.append(f"{_stamp()} edgeperf: {result.verdict}")
    return "\n".join(lines) + "\n"
