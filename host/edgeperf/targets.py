"""Boards to benchmark, as typed objects: the Python API that `edgeperf run` also builds its targets with.

A `Target` pairs WHERE a board is (a location: a serial/remote URL, a labgrid place, a QEMU board, a
virtual board or a virtual energy bench) with WHAT runs on it (a `Workload`: benchmark, model, dataset).
Each location knows HOW it is brought up: `provision()` is a context manager yielding the board's URL
(or URL and monitor spec for the virtual energy bench), so starting and stopping boards lives beside
their description instead of in the command line code. The mode is chosen per run (`run.run_all`).

    from edgeperf.results import ResultsFolder
    from edgeperf.rules.performance import PerformanceSettings
    from edgeperf.rules.progress import Progress
    from edgeperf.run import run_all
    from edgeperf.targets import Target

    targets = [Target.virtual("kws01"), Target.at_port("/dev/ttyACM0", "vww01", board="nucleo-l4r5zi")]
    run_all(targets, "performance", PerformanceSettings.quick(), ResultsFolder.create(None), Progress())
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

from .benchmarks import Benchmark, get_benchmark
from .boards.detect import confirm_dut
from .boards.registry import BoardDescription, get_board
from .boards.reset import reset_board
from .bundled import bundled_model, bundled_samples, sww_model, sww_samples
from .dut import RecoveryPolicy
from .errors import ConfigError, DeviceError, EdgeperfError
from .sim.timing import DEFAULT_PROFILE, timing_profile

#: Wall seconds the virtual board spends per modelled device second by default: 10x faster than the modelled MCU,
#: so `edgeperf run` finishes in minutes. Device time (what is measured) is unaffected.
DEFAULT_SIM_TIME_SCALE = 0.1

#: LoadGen times queries on the host, so a virtual board under a LoadGen scenario takes its modelled time for real.
LOADGEN_SIM_TIME_SCALE = 1.0


def sim_time_scale_for(scenario: str | None) -> float:
    """The virtual board's default time scale for a run with or without a LoadGen scenario."""
    return LOADGEN_SIM_TIME_SCALE if scenario else DEFAULT_SIM_TIME_SCALE

#: What every QEMU result says: QEMU has no model runtime, so the firmware runs a synthetic compute runner.
SELF_TEST_NOTE = "HARNESS SELF-TEST: synthetic compute runner in QEMU, not a model result"

#: The virtual board's cost model, as results files name it.
VIRTUAL_PROCESSOR = "Arm Cortex-M4 (virtual board cost model)"

#: The protocols the built-in virtual board can speak (`--sim-protocol`).
SIM_PROTOCOLS = ("eembc", "binary")

#: "board": reset a silent board the way its registry description allows (probe, RTS, DTR); "none": never.
ResetMethod = Literal["board", "none"]

#: Pulls a board out of a hang: given its URL, resets it and says how.
Resetter = Callable[[str], str]


class Location(Protocol):
    """Where a board is, its link rate, and how to bring it up for one run."""

    @property
    def url(self) -> str | None:
        """The board's URL when known before provisioning (None: provisioning finds it)."""

    @property
    def baud(self) -> int:
        """The UART rate the host talks to the board at."""

    def description(self, benchmark: Benchmark) -> str:
        """One line for the results: what board this is."""

    def details(self) -> dict[str, object]:
        """Facts about the board for results.json (kind, processor, clock ...)."""

    def resetter(self) -> Resetter | None:
        """How to reset this board when it hangs; None when edgeperf knows no way."""

    def provision(self) -> AbstractContextManager[Any]:
        """Bring the board up for a run: yields its URL, or (URL, monitor spec) for a virtual energy bench."""


def _board_details(board: BoardDescription | None, kind: str) -> dict[str, object]:
    if board is None:
        return {"kind": kind}
    return {"kind": kind, "board_name": board.name, "processor": board.mcu.core, "clock_mhz": board.mcu.clock_mhz,
            "board_description_file": str(board.path)}


def _as_board(board: str | BoardDescription | None) -> BoardDescription | None:
    return get_board(board) if isinstance(board, str) else board


def _as_benchmark(benchmark: str | Benchmark) -> Benchmark:
    return get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark


@dataclass(frozen=True)
class PortLocation:
    """A board reached by URL: a local port, or any pyserial URL (socket://, rfc2217://), optionally described
    by the board registry, which says how to reset it."""

    url: str
    baud: int
    board: BoardDescription | None = None
    reset_method: ResetMethod = "board"
    #: Seconds a reset board gets to print its banner before the run talks to it.
    boot_seconds: float = 1.5

    def __post_init__(self) -> None:
        if not self.url:
            raise ConfigError("a board at a port needs its URL (/dev/ttyACM0, socket://HOST:PORT, rfc2217://HOST:PORT)")

    @property
    def resettable(self) -> bool:
        """Only a described microcontroller (or virtual board) has a known reset; others are left alone."""
        return self.board is not None and self.board.kind in ("mcu", "virtual") and self.reset_method == "board"

    def description(self, benchmark: Benchmark) -> str:
        return f"{self.board.title} at {self.url}" if self.board else self.url

    def details(self) -> dict[str, object]:
        return _board_details(self.board, "hardware")

    def resetter(self) -> Resetter | None:
        return partial(reset_board, self.board) if self.resettable and self.board is not None else None

    def provision(self) -> AbstractContextManager[str]:
        """A resettable board that went silent is reset once (probe, RTS or DTR) before the run gives up on it."""
        return self._revived() if self.resettable else nullcontext(self.url)

    @contextmanager
    def _revived(self) -> Iterator[str]:
        assert self.board is not None
        if confirm_dut(self.url, self.baud, timeout=2.0) is None:
            try:
                reset_board(self.board, self.url)
            except EdgeperfError as exc:
                raise DeviceError(f"the board on {self.url} did not answer `name` at {self.baud} baud, and resetting "
                                  f"it failed: {exc}") from exc
            time.sleep(self.boot_seconds)  # the reference firmware prints its banner after boot
        yield self.url


@dataclass(frozen=True)
class LabgridLocation:
    """A labgrid place: acquired for the run, its NetworkSerialPort used over RFC 2217, released afterwards."""

    place: str
    baud: int
    board: BoardDescription | None = None
    #: HOST:PORT of the coordinator; None: $LG_COORDINATOR or labgrid's default.
    coordinator: str | None = None
    #: Wait in labgrid's reservation queue for a busy place instead of failing.
    reserve: bool = False

    @property
    def url(self) -> str | None:
        return None  # known only once the place is acquired

    def description(self, benchmark: Benchmark) -> str:
        return f"labgrid place {self.place}" + (f" ({self.board.title})" if self.board else "")

    def details(self) -> dict[str, object]:
        return {**_board_details(self.board, "labgrid"), "labgrid_place": self.place}

    def resetter(self) -> Resetter | None:
        return None

    def provision(self) -> AbstractContextManager[str]:
        from .farm.labgrid import LabgridPlace

        return LabgridPlace(self.place, coordinator=self.coordinator, reserve=self.reserve).provision()


@dataclass(frozen=True)
class QemuLocation:
    """A QEMU board running edgeperf's firmware for one benchmark (built incrementally when the run starts).

    Its runner is synthetic (QEMU has no model runtime), so every result is labelled a harness self-test.
    """

    board: str
    #: The benchmark whose firmware build the board runs.
    firmware: str
    baud: int
    build_dir: Path | None = None

    def __post_init__(self) -> None:
        self._machine()  # an unknown QEMU board is refused now, not when the run starts

    def _machine(self) -> Any:
        from .sim.qemu import get_board as get_qemu_board

        return get_qemu_board(self.board)

    @property
    def url(self) -> str | None:
        return None  # QEMU picks its socket when it starts

    def description(self, benchmark: Benchmark) -> str:
        from .sim.qemu import ICOUNT_SHIFT

        machine = self._machine()
        return f"{machine.name} ({machine.processor}, -icount shift={ICOUNT_SHIFT}); {SELF_TEST_NOTE}"

    def details(self) -> dict[str, object]:
        from .sim.qemu import EMULATED_NOTE, ICOUNT_SHIFT, elf_path

        machine = self._machine()
        try:
            elf: dict[str, object] = {"firmware_elf": str(elf_path(machine, self.firmware, self.build_dir))}
        except ConfigError:
            elf = {}  # no firmware sources: provisioning says so
        return {"kind": "qemu", "processor": machine.processor, "clock_mhz": machine.core_mhz,
                "icount_shift": ICOUNT_SHIFT, "runner": "synthetic", "self_test": True, "note": SELF_TEST_NOTE,
                "timing_note": EMULATED_NOTE, **elf}

    def resetter(self) -> Resetter | None:
        return None

    @contextmanager
    def provision(self) -> Iterator[str]:
        from .sim.qemu import QemuProcess, firmware_elf

        machine = self._machine()
        with QemuProcess(machine, firmware_elf(machine, self.firmware, self.build_dir)) as qemu:
            yield qemu.url


@dataclass(frozen=True)
class VirtualBoardLocation:
    """edgeperf's virtual board (a TFLite Micro model behind the EEMBC protocol on a pty, timed by a Cortex-M4
    cost model), started for the run, with optional injected faults."""

    model: Path
    #: The benchmark the board reports; None: inferred from the model, as flashing a user's model would decide.
    profile: str | None
    baud: int
    #: Wall seconds per modelled device second (0: as fast as the host can; 1.0: real time, as LoadGen needs).
    time_scale: float = DEFAULT_SIM_TIME_SCALE
    clock_mhz: float = 120.0
    #: Fault specs such as `drop:0.001` or `hang:2` (python -m edgeperf.sim.board --help lists them).
    faults: tuple[str, ...] = ()
    fault_seed: int = 0
    #: The timing model (docs/virtual-bench.md): a profile, `KEY=VALUE` overrides of it, and its seed.
    timing_profile: str = DEFAULT_PROFILE
    timing: tuple[str, ...] = ()
    seed: int = 0
    #: "eembc": the reference firmware's ASCII protocol only; "binary": also edgeperf's binary frames.
    protocol: str = "eembc"
    #: Announce edgeperf's ASCII extensions (per-layer times, arena), as edgeperf's firmware does.
    extensions: bool = False

    def __post_init__(self) -> None:
        timing_profile(self.timing_profile, list(self.timing))  # a bad name or override is one clear error now
        if self.protocol not in SIM_PROTOCOLS:
            raise ConfigError(f"the virtual board speaks {' or '.join(SIM_PROTOCOLS)}, not {self.protocol!r}")
        if not self.clock_mhz > 0:  # also refuses NaN
            raise ConfigError(f"the virtual board's core clock must be above 0 MHz, not {self.clock_mhz:g} "
                              "(--sim-clock-mhz)")
        if self.time_scale < 0:
            raise ConfigError(f"--sim-time-scale must be 0 or more, not {self.time_scale:g}")

    @property
    def url(self) -> str | None:
        return None  # the board's pty exists once it is started

    def description(self, benchmark: Benchmark) -> str:
        return f"virtual board ({benchmark.name}, {self.baud} baud, Cortex-M4 cost model)"

    def details(self) -> dict[str, object]:
        return {"kind": "virtual", "processor": VIRTUAL_PROCESSOR, "clock_mhz": self.clock_mhz,
                "sim_time_scale": self.time_scale, "sim_faults": list(self.faults), "sim_fault_seed": self.fault_seed,
                "sim_protocol": self.protocol, **_timing_details(self.timing_profile, self.timing, self.seed)}

    def resetter(self) -> Resetter | None:
        return _reset_virtual_board

    @contextmanager
    def provision(self) -> Iterator[str]:
        from .sim.launcher import VirtualBoardProcess

        injected = [arg for spec in self.faults for arg in ("--fault", spec)]
        extra = ["--clock-mhz", str(self.clock_mhz), "--fault-seed", str(self.fault_seed), *injected,
                 *_timing_args(self.timing_profile, self.timing), "--seed", str(self.seed),
                 *(["--binary"] if self.protocol == "binary" else []), *(["--extensions"] if self.extensions else [])]
        with VirtualBoardProcess(model=self.model, profile=self.profile, baud=self.baud, time_scale=self.time_scale,
                                 extra_args=extra) as board:
            yield board.event.get("stable_url") or board.url  # the path that survives a disconnect


def _board_profile(bench: Benchmark, model: Path | str | None) -> str | None:
    """What a virtual board reports in m-model-[...]: the benchmark's name for its bundled model; for a given
    model, what its shapes say (as flashing it would), except where shapes cannot tell (ic02 looks like ic01)."""
    return bench.name if model is None or bench.dataset_of else None


def _timing_args(profile: str, overrides: tuple[str, ...]) -> list[str]:
    return ["--timing-profile", profile, *[arg for item in overrides for arg in ("--timing", item)]]


def _timing_details(profile: str, overrides: tuple[str, ...], seed: int) -> dict[str, object]:
    return {"sim_timing_profile": profile, "sim_timing": list(overrides), "sim_seed": seed}


def _reset_virtual_board(url: str) -> str:
    """The virtual board's reset pin: the FIFO beside its stable tty path."""
    return reset_board(get_board("virtual"), url)


#: Power monitors the virtual bench can emulate.
SIM_MONITORS = ("lpm01a", "ppk2", "otii")
#: What relays the board's UART: the EEMBC Arduino io-manager, the MLCommons interface board, or nothing.
IO_MANAGERS = ("arduino", "interface-board", "none")


@dataclass(frozen=True)
class VirtualBenchLocation:
    """edgeperf's virtual energy bench: an energy-mode virtual board, an emulated power monitor and IO manager."""

    model: Path
    #: The benchmark the board reports; None: inferred from the model.
    profile: str | None
    #: The power monitor to emulate.
    monitor: str = "lpm01a"
    #: The relay between host and board: the EEMBC Arduino io-manager, the MLCommons interface board, or none.
    io_manager: str = "arduino"
    #: Relative noise of each monitor sample.
    noise: float = 0.005
    #: The board's UART rate (the host uses it directly when no IO manager relays).
    baud: int = 9600
    #: The board's timing model, as on the virtual board; the seed also seeds the monitor noise.
    timing_profile: str = DEFAULT_PROFILE
    timing: tuple[str, ...] = ()
    seed: int = 1

    def __post_init__(self) -> None:
        timing_profile(self.timing_profile, list(self.timing))
        if self.monitor not in SIM_MONITORS:
            raise ConfigError(f"the virtual bench emulates {', '.join(SIM_MONITORS)}, not {self.monitor!r}")
        if self.io_manager not in IO_MANAGERS:
            raise ConfigError(f"IO manager {self.io_manager!r}: choose one of {', '.join(IO_MANAGERS)}")

    @property
    def url(self) -> str | None:
        return None

    def description(self, benchmark: Benchmark) -> str:
        return f"virtual energy bench ({benchmark.name}, emulated {self.monitor}, IO manager: {self.io_manager})"

    def details(self) -> dict[str, object]:
        return {"kind": "virtual", "processor": VIRTUAL_PROCESSOR, "clock_mhz": 120.0, "monitor": self.monitor,
                "io_manager": self.io_manager, **_timing_details(self.timing_profile, self.timing, self.seed)}

    def resetter(self) -> Resetter | None:
        return None

    @contextmanager
    def provision(self) -> Iterator[tuple[str, str]]:
        """Yields the relay's (or board's) URL and the `NAME:URL` of the emulated monitor."""
        from .sim.launcher import VirtualBenchProcess

        bench = VirtualBenchProcess(model=self.model, profile=self.profile, monitor=self.monitor,
                                    io_manager=self.io_manager,
                                    extra_args=["--noise", str(self.noise), "--seed", str(self.seed),
                                                *_timing_args(self.timing_profile, self.timing)])
        with bench:  # bound first: the launcher's __enter__ is typed as the plain board process
            yield bench.url, bench.monitor_spec


@dataclass(frozen=True)
class VirtualSwwBenchLocation:
    """edgeperf's virtual streaming wakeword bench: the emulated interface board (SD card = the dataset's
    `sww01/` folder) playing to a virtual sww board over a virtual I2S wire, with an optional emulated monitor."""

    model: Path
    card: Path
    #: Wall seconds per stream second; the stream's device time and every timestamp are unaffected.
    time_scale: float = DEFAULT_SIM_TIME_SCALE
    monitor: str = "none"
    faults: tuple[str, ...] = ()
    timing_profile: str = DEFAULT_PROFILE
    timing: tuple[str, ...] = ()
    seed: int = 1
    baud: int = 115200
    clock_mhz: float = 120.0

    def __post_init__(self) -> None:
        timing_profile(self.timing_profile, list(self.timing))
        if not self.clock_mhz > 0:
            raise ConfigError(f"the virtual board's core clock must be above 0 MHz, not {self.clock_mhz:g} "
                              "(--sim-clock-mhz)")
        if self.time_scale < 0:
            raise ConfigError(f"--sim-time-scale must be 0 or more, not {self.time_scale:g}")
        if self.monitor not in ("none", *SIM_MONITORS):
            raise ConfigError(f"the sww bench emulates {', '.join(SIM_MONITORS)}, not {self.monitor!r}")

    @property
    def url(self) -> str | None:
        return None

    @property
    def scale(self) -> float:
        """0 asks for "as fast as the host can": the I2S clock still needs a pace, a thousandth of real time."""
        return self.time_scale or 0.001

    def description(self, benchmark: Benchmark) -> str:
        return f"virtual sww bench (interface board, {benchmark.name} board" + \
            (f", emulated {self.monitor})" if self.monitor != "none" else ")")

    def details(self) -> dict[str, object]:
        return {"kind": "virtual", "processor": VIRTUAL_PROCESSOR, "clock_mhz": self.clock_mhz, "io_manager": "interface-board",
                "sim_time_scale": self.scale, "sim_faults": list(self.faults), "sd_card": str(self.card),
                **({"monitor": self.monitor} if self.monitor != "none" else {}),
                **_timing_details(self.timing_profile, self.timing, self.seed)}

    def resetter(self) -> Resetter | None:
        return None

    @contextmanager
    def provision(self) -> Iterator[tuple[str, str | None]]:
        """Yields the interface board's URL and the `NAME:URL` of the emulated monitor (None without one)."""
        from .sim.launcher import VirtualSwwBenchProcess

        extra = ["--seed", str(self.seed), "--clock-mhz", str(self.clock_mhz), *_timing_args(self.timing_profile, self.timing),
                 *[arg for spec in self.faults for arg in ("--fault", spec)]]
        bench = VirtualSwwBenchProcess(model=self.model, card=self.card, time_scale=self.scale, monitor=self.monitor,
                                       extra_args=extra)
        with bench:
            yield bench.url, bench.monitor_spec


def _sww_target(cls: type[Target], workload: Workload, dataset: Path | str | None, monitor: str,
                time_scale: float, faults: Sequence[str], timing_profile: str, timing: Sequence[str],
                seed: int, clock_mhz: float = 120.0) -> Target:
    """The virtual sww bench for a streaming workload, with the default model and test stream when none is given."""
    runs = workload.model or sww_model()
    root = Path(dataset) if dataset is not None else sww_samples()
    where = VirtualSwwBenchLocation(runs, root / workload.benchmark.name, time_scale, monitor, tuple(faults),
                                    timing_profile, tuple(timing), seed, clock_mhz=clock_mhz)
    # 3.3 V as devices_sww.yaml; no boot wait: the virtual sww board keeps running when the monitor cuts its supply.
    return cls(where, Workload(workload.benchmark, runs, root), EnergyWiring(io_manager=True, voltage_v=3.3,
                                                                            boot_seconds=0.0))


@dataclass(frozen=True)
class Workload:
    """What runs on a board: the benchmark, the model flashed on it (None: unknown) and the dataset to send."""

    benchmark: Benchmark
    model: Path | None = None
    #: Dataset root in the MLPerf Tiny layout.
    dataset: Path = field(default_factory=bundled_samples)

    @classmethod
    def of(cls, benchmark: str | Benchmark, model: Path | str | None = None,
           dataset: Path | str | None = None) -> Workload:
        """From names and paths; the dataset defaults to the bundled sample sets."""
        return cls(_as_benchmark(benchmark), Path(model) if model is not None else None,
                   Path(dataset) if dataset is not None else bundled_samples())


@dataclass(frozen=True)
class EnergyWiring:
    """How an energy-mode board is wired: its power monitor, and whether an IO manager relays its UART."""

    #: `NAME:URL` of the monitor; None when the target's provision supplies it (the virtual bench).
    monitor: str | None = None
    io_manager: bool = True
    voltage_v: float = 1.8
    sample_rate_hz: float | None = None
    edge: str = "falling"
    #: Seconds the board needs from power-on to its m-ready.
    boot_seconds: float = 1.0


@dataclass
class Target:
    """One board to run one benchmark on: where it is (`where`) and what it is meant to run (`workload`).

    The properties are what a run reads; build targets with the class methods (`virtual`, `at_port`,
    `labgrid`, `qemu`, `energy_bench`) or from a location and a workload.
    """

    where: Location
    workload: Workload
    energy: EnergyWiring = field(default_factory=EnergyWiring)
    #: Fault limits for this board's session; the CLI replaces it with its --max-recoveries.
    recovery: RecoveryPolicy = field(default_factory=RecoveryPolicy)

    def __post_init__(self) -> None:
        runs = getattr(self.where, "model", None)
        if runs is not None and self.workload.model != runs:
            raise ConfigError(f"the virtual board runs {runs}, but the workload names model {self.workload.model}: "
                              "give both the same model")

    @property
    def benchmark(self) -> Benchmark:
        return self.workload.benchmark

    @property
    def model(self) -> Path | None:
        return self.workload.model

    @property
    def dataset(self) -> Path:
        return self.workload.dataset

    @property
    def url(self) -> str | None:
        """The URL when known before the run (a port); None when provisioning finds it."""
        return self.where.url

    @property
    def baud(self) -> int:
        return self.where.baud

    @property
    def description(self) -> str:
        return self.where.description(self.benchmark)

    @property
    def details(self) -> dict[str, object]:
        return self.where.details()

    @property
    def reset(self) -> Resetter | None:
        """Resets the board at the given URL and says how; None when edgeperf knows no way (a hung board then
        stops the run)."""
        return self.where.resetter()

    def connect(self) -> AbstractContextManager[Any]:
        """Yields the board's URL, or (board URL, monitor spec) for a virtual energy bench."""
        return self.where.provision()

    @classmethod
    def virtual(cls, benchmark: str | Benchmark, *, model: Path | str | None = None,
                dataset: Path | str | None = None, baud: int | None = None,
                time_scale: float = DEFAULT_SIM_TIME_SCALE, clock_mhz: float = 120.0,
                faults: Sequence[str] = (), fault_seed: int = 0, timing_profile: str = DEFAULT_PROFILE,
                timing: Sequence[str] = (), seed: int = 0, protocol: str = "eembc",
                extensions: bool = False) -> Target:
        """A virtual board started for the run, running the bundled model (or `model`, which then decides what
        the board reports, as flashing it would), at the benchmark's performance-mode baud by default."""
        workload = Workload.of(benchmark, model, dataset)
        bench = workload.benchmark
        if bench.streaming:
            return _sww_target(cls, workload, dataset, "none", time_scale, faults, timing_profile, timing, seed or 1,
                               clock_mhz)
        runs = workload.model or bundled_model(bench.name)
        where = VirtualBoardLocation(runs, _board_profile(bench, model), baud or bench.baud_performance,
                                     time_scale, clock_mhz, tuple(faults), fault_seed, timing_profile, tuple(timing),
                                     seed, protocol, extensions)
        return cls(where, Workload(bench, runs, workload.dataset))

    @classmethod
    def at_port(cls, url: str, benchmark: str | Benchmark, *, board: str | BoardDescription | None = None,
                baud: int | None = None, model: Path | str | None = None, dataset: Path | str | None = None,
                reset_method: ResetMethod = "board", energy: EnergyWiring | None = None) -> Target:
        """A board already connected at `url` (any pyserial URL). `board` names its registry description, which
        gives its UART rate and how to reset it; `energy` wires it for energy mode (default rate then 9600)."""
        description = _as_board(board)
        workload = Workload.of(benchmark, model, dataset)
        if baud is None:
            baud = (9600 if energy is not None else
                    description.uart.performance if description is not None else workload.benchmark.baud_performance)
        where = PortLocation(url, baud, description, reset_method)
        return cls(where, workload, energy or EnergyWiring())

    @classmethod
    def labgrid(cls, place: str, benchmark: str | Benchmark, *, board: str | BoardDescription | None = None,
                baud: int | None = None, model: Path | str | None = None, dataset: Path | str | None = None,
                coordinator: str | None = None, reserve: bool = False) -> Target:
        """A labgrid place, acquired for the run; `board` names its registry description."""
        description = _as_board(board)
        workload = Workload.of(benchmark, model, dataset)
        if baud is None:
            baud = description.uart.performance if description is not None else workload.benchmark.baud_performance
        return cls(LabgridLocation(place, baud, description, coordinator, reserve), workload)

    @classmethod
    def qemu(cls, board: str, benchmark: str | Benchmark, *, dataset: Path | str | None = None,
             build_dir: Path | None = None) -> Target:
        """A QEMU board (qemu-mps2-an386, qemu-mps3-an547) running edgeperf's firmware: a harness self-test."""
        workload = Workload.of(benchmark, None, dataset)
        bench = workload.benchmark
        return cls(QemuLocation(board, bench.name, bench.baud_performance, build_dir), workload)

    @classmethod
    def energy_bench(cls, benchmark: str | Benchmark, *, model: Path | str | None = None,
                     dataset: Path | str | None = None, monitor: str = "lpm01a", io_manager: str = "arduino",
                     noise: float = 0.005, baud: int | None = None, wiring: EnergyWiring | None = None,
                     timing_profile: str = DEFAULT_PROFILE, timing: Sequence[str] = (), seed: int = 1) -> Target:
        """The virtual energy bench for energy mode; `wiring` sets voltage, sample rate and edge (its monitor
        comes from the bench, and whether an IO manager relays follows `io_manager`)."""
        workload = Workload.of(benchmark, model, dataset)
        bench = workload.benchmark
        if bench.streaming:
            return _sww_target(cls, workload, dataset, monitor, DEFAULT_SIM_TIME_SCALE, (), timing_profile, timing,
                               seed)
        relay = io_manager != "none"
        wiring = wiring or EnergyWiring(io_manager=relay)
        if wiring.io_manager != relay:
            raise ConfigError(f"the bench's IO manager is {io_manager!r}, but its wiring says "
                              f"io_manager={wiring.io_manager}: give both the same")
        runs = workload.model or bundled_model(bench.name)
        where = VirtualBenchLocation(runs, _board_profile(bench, model), monitor, io_manager, noise,
                                     baud or 9600, timing_profile, tuple(timing), seed)
        return cls(where, Workload(bench, runs, workload.dataset), wiring)
