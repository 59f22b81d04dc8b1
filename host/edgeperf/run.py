"""Run benchmarks on targets and write one results folder: the Python API behind `edgeperf run`."""

from __future__ import annotations

import hashlib
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import __version__
from .benchmarks import Benchmark
from .datasets import DatasetFile, read_dataset
from .datasets.manifest import check_quantization
from .datasets.streams import StreamTruth, read_streams
from .dut import DutSession
from .errors import ConfigError, EdgeperfError, ModelError, ResultsWriteError
from .facts import memory_record, timing_note
from .golden import GoldenCheck
from .links import open_link
from .modes import Mode
from .monitors import MonitorConfig
from .protocol.eembc import Identity
from .protocol.extensions import extensions, tflm_build
from .protocol.iomanager import ENERGY_DUT_BAUD, HOST_BAUD, UPLOAD_CHUNK_BYTES, IoManager
from .protocol.transcript import DeviceLog
from .results import ResultsFolder
from .results.journal import Journal
from .results.records import RunRecord
from .results.requirements import assess
from .results.schema import SCHEMA, UNITS, Document
from .results.summary import accuracy_text, energy_text, performance_text, run_summary
from .rules.accuracy import journal_header, run_accuracy
from .rules.energy import EnergySettings, run_energy
from .rules.energy_rig import EnergyRig
from .rules.performance import PerformanceSettings, model_md5, run_performance
from .rules.progress import Progress
from .rules.scenarios import SCENARIOS, EdgeProfile, ScenarioRun, loadgen_settings, probe_query_latency
from .rules.streaming import StreamingSettings
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


@dataclass
class _Run:
    """Everything one mode's runner needs, and the record it fills in."""

    target: Target
    mode: Mode
    files: list[DatasetFile]
    settings: PerformanceSettings | EnergySettings
    folder: ResultsFolder
    progress: Progress
    log: DeviceLog
    record: RunRecord
    golden: tuple[str, ...]
    scenario: str | None
    profile: EdgeProfile | None
    #: sww01: the streams of its truth files, and how they are scored.
    streams: list[StreamTruth] = field(default_factory=list)
    streaming: StreamingSettings = field(default_factory=StreamingSettings)

    def write_text(self, text: str) -> None:
        self.folder.write_text(f"{self.target.benchmark.name}/{self.mode}/results.txt", text)


def _check_board(identity: Identity, bench: Benchmark, url: str, mode: Mode) -> None:
    """The board must run this benchmark's model, in the build (performance or energy) the mode needs."""
    if identity.model != bench.name:
        raise ConfigError(f"the board on {url} runs model {identity.model!r}, not {bench.name!r}; "
                          f"flash the {bench.name} firmware or choose --benchmark {identity.model}")
    if mode is not Mode.ENERGY and identity.mode == Mode.ENERGY:
        raise ConfigError("the board runs an energy-mode build (m-timestamp-mode-energy): it prints no m-lap-us "
                          "timestamps, so performance mode cannot time it. Flash a performance-mode build.")
    if mode is Mode.ENERGY and identity.mode != Mode.ENERGY:
        raise ConfigError("the board runs a performance-mode build: it prints m-lap-us and never pulses its "
                          "timestamp pin. Flash an energy-mode build (EE_CFG_ENERGY_MODE=1).")


#: Board facts that say how this run reaches and drives the board, not what it computes or how fast:
#: a resumed run may differ in them (a board re-plugged at another port, the faults injected on a virtual one).
_DRIVING_DETAILS = frozenset({"url", "description", "sim_time_scale", "sim_faults", "sim_fault_seed",
                              "sim_protocol", "firmware_elf"})


def _on_board(run: _Run, url: str, measure: Callable[[DutSession], None]) -> None:
    """Open a session with the board at `url` (performance or accuracy build), identify it, and measure."""
    target = run.target
    reset = target.reset
    session = DutSession(open_link(url, target.baud), run.log, policy=target.recovery,
                         reopen=lambda: open_link(url, target.baud), reset=(lambda: reset(url)) if reset else None)
    try:
        run.progress.status("identifying the board")
        identity = session.identify()
        run.record.board.update(asdict(identity))
        _learn_facts(run, session)
        _check_board(identity, target.benchmark, url, run.mode)
        measure(session)
    finally:
        run.record.session = asdict(session.stats)
        session.close()


def _learn_facts(run: _Run, session: DutSession) -> None:
    """The board's `m-ext-[...]` facts, its timing note and its memory footprint, into the record."""
    board = run.record.board
    ext = extensions(session.client.profile_lines)
    if ext:
        board["extensions"] = ext
    tflm = tflm_build(ext)
    if tflm:
        board["tflm"] = tflm
    note = timing_note(ext, board.get("timing_note"))
    if note:
        board["timing_note"] = note
    run.record.memory = memory_record(ext, board.get("firmware_elf"))


def _performance(run: _Run, url: str) -> None:
    def measure(session: DutSession) -> None:
        assert isinstance(run.settings, PerformanceSettings)
        result = run_performance(session, run.target.benchmark, run.files, run.target.model, run.settings, run.progress)
        run.record.result = result
        run.write_text(performance_text(result))
    _on_board(run, url, measure)


def _accuracy(run: _Run, url: str) -> None:
    target, bench = run.target, run.target.benchmark
    check = None
    if run.golden:
        if target.model is None:
            raise ConfigError("the golden check needs the board's model file: pass --model")
        check = GoldenCheck(bench.name, target.model, run.golden)

    def measure(session: DutSession) -> None:
        board = {k: v for k, v in run.record.board.items() if k not in _DRIVING_DETAILS}
        journal = Journal(run.folder.file(bench.name, "accuracy", "journal.jsonl"),
                          journal_header(bench, target.model, run.files, board))
        try:
            result = run_accuracy(session, bench, run.files, journal, run.progress, check)
        finally:
            journal.close()
        run.record.result = result
        run.write_text(accuracy_text(result))
    _on_board(run, url, measure)


def _scenario(run: _Run, url: str) -> None:
    """Probe the board, hand it to a LoadGen child process, and collect both latencies or the accuracy."""
    assert run.scenario is not None
    bench, mode, scenario, profile = run.target.benchmark, str(run.mode), run.scenario, run.profile or EdgeProfile()

    def measure(session: DutSession) -> None:
        progress = run.progress
        progress.begin(total=2, description=f"{bench.name} {scenario} {mode}")
        progress.status("probing the host latency of one query")
        latency = probe_query_latency(session, bench, run.files[0])
        upload_s = session.stats.upload_seconds / max(1, session.stats.bytes_uploaded) * bench.input_bytes
        session.close()  # the LoadGen child opens the board itself
        progress.advance()
        samples = len(run.files) * (bench.windows_per_file if run.mode is Mode.ACCURACY else 1)
        settings = loadgen_settings(scenario, mode, latency, profile, samples)
        deadline = (samples * (latency + upload_s) * 3 if run.mode is Mode.ACCURACY else
                    profile.min_duration_ms / 1000 * 3 + profile.min_query_count * latency * 24) + 2 * profile.query_timeout_s + 60
        progress.status(f"LoadGen {scenario} {mode} (watchdog {deadline:.0f} s)")
        result = ScenarioRun(session.url, run.target.baud, bench, run.target.dataset, run.files,
                             profile.query_timeout_s).run(scenario, mode, settings,
                                                          run.folder.path / bench.name / f"{scenario}-{mode}", deadline)
        progress.advance()
        run.record.loadgen = {**result, "probe_host_latency_ms": latency * 1000, "profile": asdict(profile)}
    _on_board(run, url, measure)


def _energy(run: _Run, url: str, monitor_spec: str | None) -> None:
    """Power the board from the monitor, reach it (through the IO manager), and measure its energy."""
    target, bench, wiring = run.target, run.target.benchmark, run.target.energy
    if not monitor_spec:
        raise ConfigError("energy mode needs a power monitor: --monitor lpm01a:/dev/ttyACM1 (or ppk2:...)")
    if not isinstance(run.settings, EnergySettings):
        raise ConfigError("energy mode needs EnergySettings")
    run.progress.status("configuring the power monitor")
    rig = EnergyRig(monitor_spec, MonitorConfig(wiring.voltage_v, wiring.sample_rate_hz, wiring.edge), run.log.note,
                    target.recovery)
    link = None
    try:
        link = open_link(url, HOST_BAUD if wiring.io_manager else target.baud)
        dut_link = link
        if wiring.io_manager:
            manager = IoManager(link, run.log)
            run.record.io_manager = {"dialect": manager.identify(), "name": manager.name}
            manager.ensure_dut_baud(ENERGY_DUT_BAUD)
            dut_link = manager.passthrough()
        # The monitor supplies the board, so a power cycle through it is the board's reset.
        session = DutSession(dut_link, run.log, chunk_bytes=UPLOAD_CHUNK_BYTES if wiring.io_manager else 38,
                             policy=replace(target.recovery, boot_seconds=wiring.boot_seconds), reset=rig.power_cycle)
        run.progress.status("waiting for the board to boot")
        rig.power_on()
        identity = session.identify(boot_wait=wiring.boot_seconds)
        run.record.board.update(asdict(identity))
        _check_board(identity, bench, url, Mode.ENERGY)
        result = run_energy(session, rig, bench, run.files, target.model, run.settings, run.progress,
                            run.folder.path / bench.name / "energy")
        run.record.result = result
        run.record.session = asdict(session.stats)
        run.write_text(energy_text(result))
    finally:
        try:
            rig.close()
        finally:
            if link is not None:
                link.close()


def _dispatch(run: _Run, where: str | tuple[str, str]) -> None:
    """The mode's runner, on the board the target's connection yielded."""
    if run.target.benchmark.streaming:
        from .run_sww import run_stream_target

        scale = run.target.details.get("sim_time_scale", 1.0)
        run_stream_target(run, run.target.benchmark, where, run.streams, run.streaming, run.target.energy,
                          float(scale) if isinstance(scale, int | float) else 1.0, run.target.recovery)
        return
    if run.mode is Mode.ENERGY:
        url, monitor = where if isinstance(where, tuple) else (where, run.target.energy.monitor)
        run.record.board["url"] = url
        _energy(run, url, monitor)
        return
    assert isinstance(where, str)
    run.record.board["url"] = where
    runner = _scenario if run.scenario else {Mode.PERFORMANCE: _performance, Mode.ACCURACY: _accuracy}[run.mode]
    runner(run, where)


def measure_target(target: Target, mode: Mode | str, settings: PerformanceSettings | EnergySettings,
                   folder: ResultsFolder, progress: Progress, golden: tuple[str, ...] = (), scenario: str | None = None,
                   profile: EdgeProfile | None = None, streaming: StreamingSettings | None = None) -> RunRecord:
    """Run one mode on one target; failures become a record with the error, never a lost run."""
    mode = Mode(mode)
    bench = target.benchmark
    record = RunRecord(benchmark=bench.name, mode=mode, scenario=scenario,
                       board={"description": target.description, "url": target.url, "baud": target.baud,
                              **target.details},
                       model=_model_entry(target.model), dataset={"root": str(target.dataset)},
                       recovery={**asdict(target.recovery), "reset_method": target.reset is not None})
    log = DeviceLog(folder.file(bench.name, mode, "log.txt"))
    started = time.time()
    try:
        check_model_fits(target)
        if bench.streaming:
            streams = read_streams(target.dataset / bench.name)
            files: list[DatasetFile] = []
            record.dataset = {"root": str(target.dataset), "streams": [s.wav_file for s in streams],
                              "truth_files": sorted({s.truth_file.name for s in streams})}
        else:
            streams = []
            files = read_dataset(target.dataset, bench)
            note = check_quantization(target.dataset / bench.data_name, bench.data_name, target.model)
            record.dataset = {"root": str(target.dataset), "files": [f.path.name for f in files[: settings.windows]],
                              "quantization_checked": note is None, **({"note": note} if note else {})}
        run = _Run(target, mode, files, settings, folder, progress, log, record, golden, scenario, profile, streams,
                   streaming or StreamingSettings())
        with target.connect() as where:
            _dispatch(run, where)
    except ResultsWriteError:
        raise  # nothing more can be saved: the whole run stops, the folder keeps what was written
    except EdgeperfError as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        record.error_kind = exc.exit_code.name.lower()
    finally:
        log.close()
        record.wall_seconds = time.time() - started
    return record


def run_target(target: Target, mode: Mode | str, settings: PerformanceSettings | EnergySettings,
               folder: ResultsFolder, progress: Progress, golden: tuple[str, ...] = (), scenario: str | None = None,
               profile: EdgeProfile | None = None) -> dict[str, object]:
    """`measure_target`, as the results.json entry."""
    return measure_target(target, mode, settings, folder, progress, golden, scenario, profile).to_dict()


def mode_settings(mode: Mode | str, quick: bool = False,
                  warmups: int | None = None) -> PerformanceSettings | EnergySettings:
    """The settings a run of `mode` uses: the MLPerf Tiny ones, or 1 s windows with `quick` (labelled so)."""
    settings: PerformanceSettings | EnergySettings
    if Mode(mode) is Mode.ENERGY:
        settings = EnergySettings.quick() if quick else EnergySettings()
    else:
        settings = PerformanceSettings.quick() if quick else PerformanceSettings()
    return settings if warmups is None else replace(settings, warmups=warmups)


def scenario_profile(quick: bool = False, query_timeout_s: float | None = None) -> EdgeProfile:
    """The LoadGen run lengths: the edge profile, or short development runs with `quick`."""
    profile = EdgeProfile.quick() if quick else EdgeProfile()
    return profile if query_timeout_s is None else replace(profile, query_timeout_s=query_timeout_s)


def check_scenario(mode: Mode | str, scenario: str | None) -> None:
    """A LoadGen scenario is a performance or accuracy run of a known scenario."""
    if scenario is None:
        return
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown LoadGen scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if Mode(mode) is Mode.ENERGY:
        raise ConfigError("LoadGen scenarios run in performance or accuracy mode")


def new_document(mode: Mode | str, settings: PerformanceSettings | EnergySettings, command: list[str] | None,
                 scenario: str | None, **extra: object) -> Document:
    """The results.json header: provenance, mode and the settings that produced every number."""
    mode = Mode(mode)
    return {
        "schema": SCHEMA,
        "edgeperf_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command or [],
        "host": {"python": sys.version.split()[0], "platform": platform.platform()},
        "mode": str(mode),
        "scenario": scenario,
        "settings": asdict(settings) if mode in (Mode.PERFORMANCE, Mode.ENERGY) and not scenario else {},
        "units": UNITS,
        **extra,
        "runs": [],
    }


def run_all(targets: list[Target], mode: Mode | str, settings: PerformanceSettings | EnergySettings,
            folder: ResultsFolder, progress: Progress, command: list[str] | None = None, golden: tuple[str, ...] = (),
            scenario: str | None = None, profile: EdgeProfile | None = None, options: Document | None = None,
            kept: list[Document] | None = None, on_record: Callable[[RunRecord], None] | None = None,
            streaming: StreamingSettings | None = None) -> Document:
    """Run every target in turn; results.json and results.txt are rewritten after each one.

    `options` records what started the run, so `--resume` can continue it; `kept` are the finished runs of
    the run being resumed, which stay in results.json as they were; `on_record` gets each run's typed record
    (the Python API's results are made of them).
    """
    document = new_document(mode, settings, command, scenario, options=options or {})
    runs: list[Document] = list(kept or [])
    document["runs"] = runs
    folder.write_json("results.json", document)  # an interrupted run still leaves a valid document
    for target in targets:
        record = measure_target(target, mode, settings, folder, progress, golden, scenario, profile, streaming)
        runs.append(record.to_dict())
        if on_record is not None:
            on_record(record)
        folder.write_json("results.json", document)
        folder.write_text("results.txt", run_summary(runs))
    return document


def iter_failures(document: Document) -> Iterator[str]:
    """Every failed benchmark and missed default requirement of `document`, one line each."""
    yield from assess(document).lines
