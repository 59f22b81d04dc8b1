"""Host side of the EEMBC / MLPerf Tiny `%`-terminated DUT protocol.

Everything here follows what unchanged reference firmware really does (see
protocols/eembc/README.md): one command at a time, each answered by lines that end
with `m-ready`; `e-[...]` lines are errors; free-form lines may appear anywhere.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import BoardReset, ConfigError, DeviceError, EnergyWindowError, LinkTimeout, ProtocolError
from .lines import LineReader

ProgressFn = Callable[[int, int], None]

TERMINATOR = "%"
READY = "m-ready"
#: The reference command buffer holds 80 characters; longer commands are silently corrupted.
#: We stay one below, as the reference checklist advises.
MAX_COMMAND_CHARS = 79
COUNTER_MODULUS = 2**32
#: `db ` + 76 hex digits = 79 characters, the longest command the reference parser takes intact.
MAX_CHUNK_BYTES = 38

_NAME = re.compile(r"^m-name-dut-\[(.*)\]$")
_PROFILE = re.compile(r"^m-profile-\[(.*)\]$")
_MODEL = re.compile(r"^m-model-\[([^\]]*)\]$")
#: `%lu` of a 32-bit counter: no leading zero, at most 10 digits (a digit lost or doubled on the link breaks this).
_LAP = re.compile(r"^m-lap-us-(0|[1-9][0-9]{0,9})$")
_RESULTS = re.compile(r"^m-results-\[(.*)\]$")
_MODE = re.compile(r"^m-timestamp-mode-(\w+)$")
_WARMUP_START = re.compile(r"^m-warmup-start-(\d+)$")
_INFER_START = re.compile(r"^m-infer-start-(\d+)$")
_EXPECTING = re.compile(r"^m-\[Expecting (\d+) bytes\]$")
_TOO_BIG = re.compile(r"^Supplied buffer size (\d+) exceeds maximum of (\d+)$")
_BUFFER = re.compile(r"^m-buffer((?:-[0-9a-fA-F]{2}){1,8})$")
#: Lines only `ee_benchmark_initialize` prints: seen inside a reply, they mean the board rebooted.
BOOT_LINES = re.compile(r"^(m-timestamp-mode-\w+|m-init-done)$")


def check_command(command: str) -> None:
    """Refuse commands the reference firmware would mis-handle, before any byte is sent."""
    if not command:
        raise ProtocolError("refusing to send an empty command: reference firmware crashes on a bare '%'")
    if len(command) > MAX_COMMAND_CHARS:
        raise ProtocolError(
            f"command of {len(command)} characters exceeds the firmware's {MAX_COMMAND_CHARS}-character limit: {command[:40]!r}..."
        )
    if any(ch in command for ch in "%\r\n\x00") or not command.isascii() or not command.isprintable():
        raise ProtocolError(f"command {command!r} contains a terminator, CR/LF or a non-printable character")


def edits(a: str, b: str) -> int:
    """Levenshtein distance: how many bytes lost, added or changed turn `a` into `b`."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


def garbled_ready(line: str) -> bool:
    """A line one byte fault away from `m-ready` (`mready`), or two if it kept a dash (`m--ready`, `m-rdy`):
    the reply's end, damaged. Waiting for an intact `m-ready` would only run into the command's timeout.

    A debug print such as `ready` is two faults away but has no dash, so it stays a stray line.
    """
    if line == READY or abs(len(line) - len(READY)) > 2:
        return False
    distance = edits(line, READY)
    return distance <= 1 or (distance == 2 and "-" in line)


def _ends_reply(line: str) -> bool:
    """A line without its newline that ends a reply: `m-ready`, or a garbled one at least as long (a shorter
    one may still be arriving)."""
    return line == READY or (garbled_ready(line) and len(line) >= len(READY))


def is_error(line: str) -> bool:
    return line.startswith("e-")


def wrap_elapsed(t0: int, t1: int) -> int:
    """Microseconds between two 32-bit counter readings, correct across one wrap."""
    return (t1 - t0) % COUNTER_MODULUS


def lap_value(line: str) -> int | None:
    """The counter of an `m-lap-us-` line (None for other lines); a malformed one is a garbled timestamp."""
    if not line.startswith("m-lap-us"):
        return None
    match = _LAP.match(line)
    if not match or int(match.group(1)) >= COUNTER_MODULUS:
        raise ProtocolError(f"garbled timestamp {line!r}: not a 32-bit counter as the firmware prints it")
    return int(match.group(1))


def parse_lap(lines: list[str]) -> int:
    """The one counter reading of a performance build's `timestamp` reply."""
    values = [v for v in map(lap_value, lines) if v is not None]
    if len(values) != 1:
        raise ProtocolError(f"expected one m-lap-us line in the 'timestamp' reply, got {lines!r}")
    return values[0]


def format_results(profile: str, values: Iterable[float]) -> str:
    """The m-results line the reference port prints for `values` (binary INFER replies carry them unrounded)."""
    if profile == "kws01":
        # The reference prints 0.%d%d%d digit by digit: truncated, never rounded.
        body = ",".join(f"0.{int(v * 1000) % 1000:03d}" for v in values)
    elif profile == "vww01":
        # nresults is 3 in the reference loop, so a comma trails the two values.
        body = "".join(f"{v:0.3f}," for v in values)
    else:
        body = ",".join(f"{v:0.3f}" for v in values)
    return f"m-results-[{body}]\r\n"


def parse_results(line: str) -> list[float]:
    """Parse `m-results-[a,b,...]` leniently: trailing commas, `0.%d%d%d` digits, blanks."""
    match = _RESULTS.match(line)
    if not match:
        raise ProtocolError(f"not a results line: {line!r}")
    values: list[float] = []
    for field in match.group(1).split(","):
        field = field.strip()
        if not field:
            continue
        try:
            values.append(float(field))
        except ValueError as exc:
            raise ProtocolError(f"unparseable value {field!r} in results line {line!r}") from exc
    return values


@dataclass(frozen=True)
class InferReply:
    """What one `infer N W` produced, as the device reported it."""

    iterations: int
    warmups: int
    t0_us: int | None
    t1_us: int | None
    results: list[float]
    extra_laps: list[int]

    @property
    def elapsed_us(self) -> int:
        if self.t0_us is None or self.t1_us is None:
            raise DeviceError(
                "the board printed no m-lap-us timestamps for this inference loop: it is probably an "
                "energy-mode build (EE_CFG_ENERGY_MODE=1), which only toggles the timestamp pin. "
                "Flash a performance-mode build or run in energy mode with a power monitor."
            )
        return wrap_elapsed(self.t0_us, self.t1_us)


def parse_infer(lines: list[str], iterations: int, warmups: int) -> InferReply:
    """Check the `infer` output sequence and extract its timestamps and results.

    The two `m-lap-us` lines that matter are the ones between `m-infer-start-N` and
    `m-infer-done`; any other lap line is kept aside instead of being misassigned.
    """
    errors = [line for line in lines if is_error(line)]
    if errors:
        raise DeviceError(f"board rejected 'infer {iterations} {warmups}': {errors[0]}")
    stale = [line for line in lines if line.startswith("Input db has")]
    if stale:
        raise DeviceError(f"board ran on stale input: {stale[0]!r}; the upload did not complete")
    started = done = False
    laps: list[int] = []
    extra: list[int] = []
    results: list[float] | None = None
    seen_warmup = None
    for line in lines:
        if (m := _WARMUP_START.match(line)):
            seen_warmup = int(m.group(1))
        elif (m := _INFER_START.match(line)):
            if int(m.group(1)) != iterations:
                raise ProtocolError(f"asked for {iterations} inferences, board announced {line!r}")
            started = True
        elif line == "m-infer-done":
            done = True
        elif (lap := lap_value(line)) is not None:
            (laps if started and not done else extra).append(lap)
        elif line.startswith("m-results-["):
            results = parse_results(line)
    if not started or not done:
        raise ProtocolError(f"incomplete infer sequence (start seen: {started}, done seen: {done}): {lines!r}")
    if warmups > 0 and seen_warmup != warmups:
        raise ProtocolError(f"asked for {warmups} warm-up runs, board reported {seen_warmup}")
    if results is None:
        raise ProtocolError("infer reply has no m-results line")
    if len(laps) not in (0, 2):
        raise ProtocolError(f"expected two m-lap-us lines inside the timed loop, got {len(laps)}: {laps}")
    t0, t1 = (laps[0], laps[1]) if laps else (None, None)
    return InferReply(iterations, warmups, t0, t1, results, extra)


def _intact(value: str, command: str) -> str:
    """A model name as received; one with a byte the link garbled (not ASCII) is asked for again.

    Model names are ASCII benchmark names; a vendor or firmware string may legitimately be anything.
    """
    if "\ufffd" in value:
        raise ProtocolError(f"garbled reply to {command!r}: {value!r}")
    return value


def check_energy_reply(lines: list[str], iterations: int) -> None:
    """An energy build's `infer` reply: no timestamps to parse, but it must be complete and error-free.

    An incomplete reply is an untrustworthy window (measured again), not a protocol fault.
    """
    errors = [line for line in lines if is_error(line)]
    if errors:
        raise ConfigError(f"the board rejected 'infer {iterations}': {errors[0]}")
    if "m-infer-done" not in lines:
        raise EnergyWindowError(f"incomplete infer reply: {lines!r}")


def confirm_buffer(expected: bytes, lines: list[str], confirmed: set[int]) -> None:
    """Check a `db print` reply against what was uploaded, adding the 8-byte lines it confirms to `confirmed`.

    A line garbled on its way back (a lost or doubled digit or dash, a non-hex byte) is malformed and
    ignored, and a lost line is skipped; a well-formed line that matches no line still expected
    means the board holds other bytes than were sent: a ProtocolError (upload again).
    """
    wanted = ["m-buffer-" + "-".join(f"{b:02x}" for b in expected[i: i + 8]) for i in range(0, len(expected), 8)]
    at = 0
    for line in lines:
        if not _BUFFER.match(line):
            continue
        line = line.lower()
        try:
            at = wanted.index(line, at)
        except ValueError:
            raise ProtocolError(f"the board's buffer differs from the upload ('db print' line {line!r}): "
                                "bytes were lost or doubled on the way to the board") from None
        confirmed.add(at)
        at += 1


@dataclass(frozen=True)
class Identity:
    vendor: str
    profile: str
    model: str
    mode: str | None  # "performance", "energy", or None when not yet known


class EembcClient:
    """Sends one command at a time and returns the lines up to `m-ready`."""

    def __init__(self, reader: LineReader, on_stray: Callable[[str], None] | None = None) -> None:
        """`on_stray` hears every reply line that is not protocol (`m-`/`e-`): debug prints, noise."""
        self.reader = reader
        self._on_stray = on_stray
        #: Every line of the last `profile` reply, extension lines (e.g. m-ext-[...]) included.
        self.profile_lines: list[str] = []

    def command(self, command: str, timeout: float, check: Callable[[], None] | None = None) -> list[str]:
        """Send one command; its lines up to `m-ready`, each within `timeout` seconds of the one before.

        `check` is called about once a second while a line is awaited, so a long wait ends early
        when something else the measurement depends on fails (it raises).
        """
        check_command(command)
        self.reader.discard_pending()
        self.reader.log.sent(command + TERMINATOR)
        self.reader.link.write((command + TERMINATOR).encode("ascii"))
        lines: list[str] = []
        while True:
            line = self._readline(timeout, check)
            if line == READY:
                return lines
            if garbled_ready(line):
                raise ProtocolError(f"the reply to {command!r} ended with a garbled {READY!r}: {line!r}")
            if BOOT_LINES.match(line):
                raise BoardReset(f"the board rebooted (boot banner {line!r}) while answering {command!r}")
            if self._on_stray and not line.startswith(("m-", "e-")):
                self._on_stray(line)
            lines.append(line)

    def _readline(self, timeout: float, check: Callable[[], None] | None) -> str:
        """The next reply line; an `m-ready` (intact or garbled) whose newline was lost ends the reply as well,
        since the firmware prints nothing after it."""
        if check is None:
            return self.reader.readline(timeout, last=_ends_reply)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.reader.readline(max(0.0, min(1.0, deadline - time.monotonic())), last=_ends_reply)
            except LinkTimeout as exc:
                if time.monotonic() >= deadline:
                    raise LinkTimeout(f"no complete line from {self.reader.link.url} within {timeout:.1f} s") from exc
                check()

    def name(self, timeout: float = 2.0) -> str:
        lines = self.command("name", timeout)
        for line in lines:
            if (m := _NAME.match(line)):
                return m.group(1)
        raise ProtocolError(f"no m-name-dut-[...] line in reply to 'name': {lines!r}")

    def profile(self, timeout: float = 2.0) -> tuple[str, str]:
        lines = self.command("profile", timeout)
        self.profile_lines = lines
        profile = model = None
        for line in lines:
            if (m := _PROFILE.match(line)):
                profile = m.group(1)
            elif (m := _MODEL.match(line)):
                model = m.group(1)
        if model is None:
            raise ProtocolError(f"no m-model-[...] line in reply to 'profile': {lines!r}")
        return profile or "", _intact(model, "profile")

    def timestamp_mode(self, timeout: float = 2.0) -> str:
        """Ask for a timestamp: a performance build prints `m-lap-us-N`, an energy build only pulses a pin."""
        lines = self.command("timestamp", timeout)
        if any(_LAP.match(line) for line in lines):
            return "performance"
        if any("lap" in line or "\ufffd" in line or line.startswith(("m-", "e-")) for line in lines):
            raise ProtocolError(f"garbled reply to 'timestamp': {lines!r}")
        return "energy"

    def load(self, data: bytes, timeout: float, chunk_bytes: int = MAX_CHUNK_BYTES,
             progress: ProgressFn | None = None) -> None:
        """`db load N`, then `db <hex>` chunks each answered by `m-ready`; only the last may say `m-load-done`."""
        lines = self.command(f"db load {len(data)}", timeout)
        for line in lines:
            if (m := _TOO_BIG.match(line)):
                if int(m.group(1)) != len(data):
                    raise ProtocolError(f"the board read 'db load {m.group(1)}', not 'db load {len(data)}': the "
                                        "command was garbled on the link")
                raise ConfigError(
                    f"the board's input buffer holds {m.group(2)} bytes but this input has {m.group(1)}: the firmware "
                    "accepts the size and would overflow its buffer, so nothing was sent. Use the input size of the "
                    "model flashed on the board."
                )
            if is_error(line):
                raise DeviceError(f"board rejected 'db load {len(data)}': {line}")
        if not any((m := _EXPECTING.match(line)) and int(m.group(1)) == len(data) for line in lines):
            raise ProtocolError(f"board did not acknowledge 'db load {len(data)}': {lines!r}")
        sent = 0
        while sent < len(data):
            chunk = data[sent: sent + chunk_bytes]
            lines = self.command("db " + chunk.hex(), timeout)
            sent += len(chunk)
            errors = [line for line in lines if is_error(line)]
            if errors:
                raise DeviceError(f"board reported {errors[0]!r} at byte {sent - len(chunk)} of the upload")
            done = "m-load-done" in lines
            if done != (sent == len(data)):
                raise ProtocolError(
                    f"m-load-done {'arrived early' if done else 'missing'} after {sent} of {len(data)} bytes: "
                    "bytes were lost or duplicated on the link"
                )
            if progress:
                progress(sent, len(data))

    def read_back(self, data: bytes, timeout: float, attempts: int) -> None:
        """`db print` until every line of the buffer has come back intact once (lines garbled on the way back are asked again)."""
        confirmed: set[int] = set()
        lines_total = -(-len(data) // 8)
        for _ in range(attempts):
            confirm_buffer(data, self.command("db print", timeout), confirmed)
            if len(confirmed) == lines_total:
                return
        raise ProtocolError(f"'db print' did not bring back {lines_total - len(confirmed)} of {lines_total} buffer "
                            f"lines intact in {attempts} reads")

    def results(self, timeout: float) -> list[float] | None:
        """The results of the last inference again (`results` is idempotent); None when the reply has none."""
        lines = [x for x in self.command("results", timeout) if x.startswith("m-results-[")]
        return parse_results(lines[0]) if lines else None

    @staticmethod
    def mode_from_banner(lines: list[str]) -> str | None:
        for line in lines:
            if (m := _MODE.match(line)):
                return m.group(1)
        return None
