"""What keeps a stored run out of the MLPerf Tiny closed division, read from its results document.

The run rules were checked when the run was made (`rules/mlperf_tiny.py` wrote each one, met or not, into
the record); this module only reads them back, and adds what a submission needs beyond one run's rules:
the official model file, the full-length profile, the MLPerf Tiny runner rather than a LoadGen scenario.
"""

from __future__ import annotations

from ..benchmarks import Benchmark, get_benchmark

#: The rule a LoadGen run fails: MLPerf Tiny scores the single-stream median of five windows from its own runner.
LOADGEN_RULE = "MLPerf Tiny runner"
#: Checked here on the model file the run recorded, for every mode (accuracy records no model rule of its own).
MODEL_RULE = "reference model"


def closed_problems(run: dict, document: dict) -> list[str]:
    """Each failed closed-division rule of one completed run, as `rule: why`; empty when the run qualifies."""
    bench = get_benchmark(run["benchmark"])
    if run.get("scenario"):
        return [(f"{LOADGEN_RULE}: a LoadGen {run['scenario']} run is not an MLPerf Tiny result (MLPerf Tiny "
                 "scores the median of 5 single-stream windows, measured without --scenario)")]
    result = run[run["mode"]]
    problems = []
    profile = (result.get("settings") or document.get("settings") or {}).get("profile")
    if profile == "quick":
        problems.append("quick profile: the run used --quick (1 s windows), which never meets the run rules")
    problems.append(_model_problem(bench, run.get("model")))
    problems += [f"{rule['rule']}: {rule['detail']}" for rule in result.get("rules", [])
                 if not rule["met"] and rule["rule"] != MODEL_RULE]
    return [problem for problem in problems if problem]


def _model_problem(bench: Benchmark, model: dict | None) -> str:
    """Empty when the run's model file is the official one, else the `reference model` failure."""
    official = f"the official {bench.name} model {bench.reference_file} (md5 {bench.reference_md5})"
    if model is None:
        return f"{MODEL_RULE}: no --model was given, so the board's model cannot be shown to be {official}"
    if model.get("md5") != bench.reference_md5:
        return f"{MODEL_RULE}: {model.get('path')} (md5 {model.get('md5')}) is not {official}"
    return ""
