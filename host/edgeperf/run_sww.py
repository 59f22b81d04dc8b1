"""One sww01 run on a target: reach the interface board, check the DUT, play every stream, write the results.

Why apart from run.py: a streaming board is driven through the interface board's own commands, not a
DUT session, so it shares only the results plumbing with the other benchmarks.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Protocol

from .benchmarks import Benchmark
from .datasets.streams import StreamTruth
from .dut import RecoveryPolicy
from .errors import ConfigError
from .links import open_link
from .modes import Mode
from .monitors import MonitorConfig
from .protocol.interface_board import InterfaceBoard
from .protocol.iomanager import HOST_BAUD, IoManager
from .protocol.transcript import DeviceLog
from .results.records import RunRecord
from .results.summary import streaming_text
from .rules.energy_rig import EnergyRig
from .rules.progress import Progress
from .rules.streaming import StreamingSettings, run_streaming
from .rules.streaming_energy import MonitorStreamCapture
from .targets import EnergyWiring


class StreamingRun(Protocol):
    """What run.py's per-run bundle offers this runner."""

    mode: Mode
    progress: Progress
    log: DeviceLog
    record: RunRecord

    def write_text(self, text: str) -> None: ...


def identify_sww(board: InterfaceBoard, bench: Benchmark, url: str) -> dict[str, object]:
    """The DUT behind the interface board must run the sww firmware for this benchmark."""
    name = board.dut("name")
    profile = board.dut("profile")
    models = [line[len("m-model-["):-1] for line in profile if line.startswith("m-model-[") and line.endswith("]")]
    if models != [bench.name]:
        raise ConfigError(f"the DUT behind the interface board on {url} reports model {models or profile!r}, not "
                          f"{bench.name}: flash the streaming wakeword firmware")
    return {"name": next(iter(name), ""), "profile": profile, "model": bench.name}


def _powered_rig(monitor_spec: str, wiring: EnergyWiring, run: StreamingRun, policy: RecoveryPolicy) -> EnergyRig:
    """The monitor, supplying the DUT. The DUT then boots for `wiring.boot_seconds` before anything is sent: the
    interface board's passthrough waits forever for the m-ready of a DUT that cannot answer yet."""
    rig = EnergyRig(monitor_spec, MonitorConfig(wiring.voltage_v, wiring.sample_rate_hz, wiring.edge), run.log.note,
                    policy)
    try:
        rig.power_on()
    except BaseException:
        rig.close()
        raise
    time.sleep(wiring.boot_seconds)
    return rig


def run_stream_target(run: StreamingRun, bench: Benchmark, where: str | tuple[str, str | None],
                      streams: list[StreamTruth], settings: StreamingSettings, wiring: EnergyWiring,
                      time_scale: float, policy: RecoveryPolicy) -> None:
    """Interface board at the target's URL; a monitor (energy mode) from the bench or the wiring."""
    url, monitor_spec = where if isinstance(where, tuple) else (where, wiring.monitor)
    run.record.board["url"] = url
    if run.mode is Mode.ENERGY and not monitor_spec:
        raise ConfigError("sww01 energy mode needs a power monitor: --monitor lpm01a:/dev/ttyACM1 (or js220, ppk2 ...)")
    if run.mode is Mode.ACCURACY:
        raise ConfigError("sww01 is scored in performance and energy mode (every run plays the whole stream): "
                          "use --mode performance or --mode energy")
    rig = _powered_rig(monitor_spec, wiring, run, policy) if run.mode is Mode.ENERGY and monitor_spec else None
    link = None
    try:
        link = open_link(url, HOST_BAUD)
        manager = IoManager(link, run.log)
        run.record.io_manager = {"dialect": manager.identify(), "name": manager.name}
        if manager.dialect != "interface-board":
            raise ConfigError(f"sww01 needs the MLCommons interface board (it plays the audio); {url} is an "
                              f"{manager.dialect} IO manager")
        manager.ensure_dut_baud(bench.baud_performance)
        board = InterfaceBoard(manager)
        run.record.board.update(identify_sww(board, bench, url))
        capture = MonitorStreamCapture(rig) if rig is not None else None
        result = run_streaming(board, bench, streams, replace(settings, time_scale=time_scale), run.progress,
                               capture, capture.describe() if capture else None)
        run.record.result = result
        run.write_text(streaming_text(result))
    finally:
        try:
            if rig is not None:
                rig.close()
        finally:
            if link is not None:
                link.close()
