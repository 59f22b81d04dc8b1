"""Run benchmarks on targets and write one results folder: the Python API behind `edgeperf run`."""

from __future__ import annotations

import hashlib
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from . import __version__
from .datasets import read_dataset
from .dut import DutSession
from .errors import ConfigError, EdgeperfError, ModelError
from .golden import GoldenCheck
from .links import open_link
from .protocol.transcript import DeviceLog
from .results import ResultsFolder
from .results.journal import Journal
from .results.schema import SCHEMA, UNITS
from .results.summary import accuracy_text, performance_text, run_summary
from .rules.accuracy import journal_header, run_accuracy
from .monitors import MonitorConfig
from .protocol.iomanager import ENERGY_DUT_BAUD, HOST_BAUD, UPLOAD_CHUNK_BYTES, IoManager
from .results.summary import energy_text
from .rules.energy import EnergySettings, run_energy
from .rules.energy_rig import EnergyRig
from .rules.performance import PerformanceSettings, model_md5, run_performance
from .rules.progress import Progress
from .rules.scenarios import EdgeProfile, ScenarioRun, loadgen_settings, probe_query_latency
from .targets import Target


def check_model_fits(target: Target) -> None:
    """A model that cannot be this benchmark's is refused before a byte goes to the board."""
    if target.model is None:
        return
    from .modelinfo import inspect_model

    bench = target.benchmark
    info = inspect_model(target.model)
    # The reference ports take int8 inputs, except ad01's, which takes 640 float32 values.
    expected = bench.input_bytes // 4 if bench.name == "ad01" else bench.input_bytes
    elements = info.inputs[0].elements if info.inputs else 0
    if elements != expected:
        raise ModelError(f"{target.model} takes {elements} input values, but {bench.name} sends {expected} per "
                         f"inference: give the model flashed for {bench.name} with --model, or the benchmark that "
                         "matches this model")
    outputs = info.outputs[0].elements if info.outputs else 0
    if bench.classes and outputs != len(bench.classes):
        raise ModelError(f"{target.model} gives {outputs} output values, but {bench.name} scores {len(bench.classes)} "
                         f"classes: give the model trained for {bench.name} with --model")


def _model_entry(path: Path | None) -> dict[str, object] | None:
    if path is None:
        return None
    data = path.read_bytes()
    return {"path": str(path), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "md5": model_md5(path)}


def _run_scenario(session: DutSession, target: Target, files: list, mode: str, scenario: str,
                  profile: EdgeProfile, folder: ResultsFolder, progress: Progress) -> dict[str, object]:
    """Probe the board, hand it to a LoadGen child process, and collect both latencies or the accuracy."""
    bench = target.benchmark
    progress.begin(total=2, description=f"{bench.name} {scenario} {mode}")
    progress.status("probing the host latency of one query")
    latency = probe_query_latency(session, bench, files[0])
    upload_s = session.stats.upload_seconds / max(1, session.stats.bytes_uploaded) * bench.input_bytes
    session.link.close()  # the LoadGen child opens the board itself
    progress.advance()
    samples = len(files) * (bench.windows_per_file if mode == "accuracy" else 1)
    settings = loadgen_settings(scenario, mode, latency, profile, samples)
    deadline = (samples * (latency + upload_s) * 3 if mode == "accuracy" else
                profile.min_duration_ms / 1000 * 3 + profile.min_query_count * latency * 24) + 2 * profile.query_timeout_s + 60
    progress.status(f"LoadGen {scenario} {mode} (watchdog {deadline:.0f} s)")
    url = session.link.url
    result = ScenarioRun(url, target.baud, bench, target.dataset, files, profile.query_timeout_s).run(
        scenario, mode, settings, folder.path / bench.name / f"{scenario}-{mode}", deadline)
    progress.advance()
    return {**result, "probe_host_latency_ms": latency * 1000, "profile": asdict(profile)}


def run_target(target: Target, mode: str, settings: PerformanceSettings | EnergySettings, folder: ResultsFolder,
               progress: Progress, golden: tuple[str, ...] = (), scenario: str | None = None,
               profile: EdgeProfile | None = None) -> dict[str, object]:
    """Run one mode on one target; failures become an entry with the error, never a lost run."""
    bench = target.benchmark
    entry: dict[str, object] = {
        "benchmark": bench.name,
        "mode": mode,
        "scenario": scenario,
        "board": {"description": target.description, "url": target.url, "baud": target.baud, **target.details},
        "model": _model_entry(target.model),
        "dataset": {"root": str(target.dataset)},
        "recovery": {**asdict(target.recovery), "reset_method": target.reset is not None},
    }
    log = DeviceLog(folder.file(bench.name, mode, "log.txt"))
    started = time.time()
    try:
        check_model_fits(target)
        files = read_dataset(target.dataset, bench)
        entry["dataset"] = {"root": str(target.dataset), "files": [f.path.name for f in files[: settings.windows]]}
        with target.connect() as where:
            if mode == "energy":
                url, monitor = where if isinstance(where, tuple) else (where, target.energy.monitor)
                entry["board"]["url"] = url  # type: ignore[index]
                _energy_run(target, url, monitor, files, settings, folder, progress, log, entry)  # type: ignore[arg-type]
                return entry
            url = where
            entry["board"]["url"] = url  # type: ignore[index]
            reset = target.reset
            session = DutSession(open_link(url, target.baud), log, policy=target.recovery,
                                 reopen=lambda: open_link(url, target.baud),
                                 reset=(lambda: reset(url)) if reset else None)
            try:
                progress.status("identifying the board")
                identity = session.identify()
                entry["board"].update(asdict(identity))  # type: ignore[union-attr]
                if identity.model != bench.name:
                    raise ConfigError(
                        f"the board on {url} runs model {identity.model!r}, not {bench.name!r}; "
                        f"flash the {bench.name} firmware or choose --benchmark {identity.model}"
                    )
                if identity.mode == "energy":
                    raise ConfigError(
                        "the board runs an energy-mode build (m-timestamp-mode-energy): it prints no m-lap-us "
                        "timestamps, so performance mode cannot time it. Flash a performance-mode build."
                    )
                if scenario:
                    entry["loadgen"] = _run_scenario(session, target, files, mode, scenario,
                                                     profile or EdgeProfile(), folder, progress)
                elif mode == "performance":
                    result = run_performance(session, bench, files, target.model, settings, progress)
                    entry["performance"] = result.to_dict()
                    folder.write_text(f"{bench.name}/performance/results.txt", performance_text(result))
                else:
                    check = None
                    if golden:
                        if target.model is None:
                            raise ConfigError("the golden check needs the board's model file: pass --model")
                        check = GoldenCheck(bench.name, target.model, golden)
                    journal = Journal(folder.file(bench.name, "accuracy", "journal.jsonl"),
                                      journal_header(bench, target.model, files))
                    try:
                        accuracy = run_accuracy(session, bench, files, journal, progress, check)
                    finally:
                        journal.close()
                    entry["accuracy"] = accuracy.to_dict()
                    folder.write_text(f"{bench.name}/accuracy/results.txt", accuracy_text(accuracy))
            finally:
                entry["session"] = asdict(session.stats)
                session.link.close()
    except EdgeperfError as exc:
        entry["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        log.close()
        entry["wall_seconds"] = time.time() - started
    return entry


def _energy_run(target: Target, url: str, monitor_spec: str | None, files: list, settings: EnergySettings,
                folder: ResultsFolder, progress: Progress, log: DeviceLog, entry: dict[str, object]) -> None:
    """Power the board from the monitor, reach it (through the IO manager), and measure its energy."""
    bench, wiring = target.benchmark, target.energy
    if not monitor_spec:
        raise ConfigError("energy mode needs a power monitor: --monitor lpm01a:/dev/ttyACM1 (or ppk2:...)")
    if not isinstance(settings, EnergySettings):
        raise ConfigError("energy mode needs EnergySettings")
    progress.status("configuring the power monitor")
    rig = EnergyRig(monitor_spec, MonitorConfig(wiring.voltage_v, wiring.sample_rate_hz, wiring.edge),
                    wiring.boot_seconds, log.note, target.recovery)
    link = None
    try:
        link = open_link(url, HOST_BAUD if wiring.io_manager else target.baud)
        dut_link = link
        if wiring.io_manager:
            manager = IoManager(link, log)
            entry["io_manager"] = {"dialect": manager.identify(), "name": manager.name}
            manager.ensure_dut_baud(ENERGY_DUT_BAUD)
            dut_link = manager.passthrough()
        session = DutSession(dut_link, log, chunk_bytes=UPLOAD_CHUNK_BYTES if wiring.io_manager else 38)
        progress.status("waiting for the board to boot")
        identity = rig.power_on(session)
        entry["board"].update(asdict(identity))  # type: ignore[union-attr]
        if identity.model != bench.name:
            raise ConfigError(f"the board on {url} runs model {identity.model!r}, not {bench.name!r}")
        if identity.mode != "energy":
            raise ConfigError("the board runs a performance-mode build: it prints m-lap-us and never pulses its "
                              "timestamp pin. Flash an energy-mode build (EE_CFG_ENERGY_MODE=1).")
        result = run_energy(rig, bench, files, target.model, settings, progress, folder.path / bench.name / "energy")
        entry["energy"] = result.to_dict()
        entry["session"] = asdict(session.stats)
        folder.write_text(f"{bench.name}/energy/results.txt", energy_text(result))
    finally:
        try:
            rig.close()
        finally:
            if link is not None:
                link.close()


def new_document(mode: str, settings: PerformanceSettings | EnergySettings, command: list[str] | None,
                 scenario: str | None, **extra: object) -> dict[str, object]:
    """The results.json header: provenance, mode and the settings that produced every number."""
    return {
        "schema": SCHEMA,
        "edgeperf_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command or [],
        "host": {"python": sys.version.split()[0], "platform": platform.platform()},
        "mode": mode,
        "scenario": scenario,
        "settings": asdict(settings) if mode in ("performance", "energy") and not scenario else {},
        "units": UNITS,
        **extra,
        "runs": [],
    }


def run_all(targets: list[Target], mode: str, settings: PerformanceSettings | EnergySettings, folder: ResultsFolder,
            progress: Progress, command: list[str] | None = None, golden: tuple[str, ...] = (),
            scenario: str | None = None, profile: EdgeProfile | None = None) -> dict[str, object]:
    """Run every target in turn; results.json and results.txt are rewritten after each one."""
    document = new_document(mode, settings, command, scenario)
    runs: list[dict[str, object]] = document["runs"]  # type: ignore[assignment]
    folder.write_json("results.json", document)  # an interrupted run still leaves a valid document
    for target in targets:
        runs.append(run_target(target, mode, settings, folder, progress, golden, scenario, profile))
        folder.write_json("results.json", document)
        folder.write_text("results.txt", run_summary(runs))
    return document


def iter_failures(document: dict[str, object]) -> Iterator[str]:
    for run in document["runs"]:  # type: ignore[union-attr]
        if run.get("error"):
            yield f"{run['benchmark']}: {run['error']}"
