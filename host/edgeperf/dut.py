"""The DUT session: what a run rule talks to. Identify, upload, infer; robust to every firmware quirk.

It also carries the recovery policy for flaky benches: idempotent commands are retried, and a
measurement hit by a fault (a garbled reply, a reboot seen by its banner, a hang, a lost port) is
thrown away whole; the board is brought back (reopen, reset, re-identify) and the measurement is
taken again from its upload. Every fault and what was done about it is counted and logged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import BoardHung, BoardReset, ConfigError, DeviceError, LinkError, LinkTimeout, ProtocolError
from .links import Link
from .protocol import binary
from .protocol.eembc import EembcClient, Identity, InferReply, is_error, parse_infer, parse_results
from .protocol.lines import LineReader
from .protocol.transcript import DeviceLog

#: `db ` + 76 hex digits = 79 characters, the longest command the reference parser takes intact.
MAX_CHUNK_BYTES = 38

_EXPECTING = re.compile(r"^m-\[Expecting (\d+) bytes\]$")
_TOO_BIG = re.compile(r"^Supplied buffer size (\d+) exceeds maximum of (\d+)$")
_BUFFER = re.compile(r"^m-buffer((?:-[0-9a-fA-F]{2}){1,8})$")

ProgressFn = Callable[[int, int], None]
T = TypeVar("T")
#: Failures a flaky link or board can cause; anything else (a wrong setting, a wrong model) is not retried.
FAULTS = (LinkError, ProtocolError, DeviceError)


@dataclass(frozen=True)
class RecoveryPolicy:
    """Limits of what the host does about faults; written into the results with every run."""

    #: Tries of an idempotent command (name, profile, results) before the fault is passed up.
    command_attempts: int = 3
    #: Tries of one upload (each restarts with `db load`).
    upload_attempts: int = 3
    #: Recoveries (reopen, reset, re-identify) allowed for one measurement (a window or a sample) before the run stops.
    max_recoveries: int = 5
    #: Attempts to reopen a port that went away, and the pause between them.
    reopen_attempts: int = 10
    reopen_interval_seconds: float = 0.5
    #: How long a board that may be hung gets to answer `name` before it is reset.
    probe_seconds: float = 2.0
    #: Silence that ends a boot banner after a reset or reopen.
    boot_seconds: float = 1.0


@dataclass
class SessionStats:
    """Counters that end up in the results, so a flaky link is visible, never hidden."""

    upload_restarts: int = 0
    bytes_uploaded: int = 0
    upload_seconds: float = 0.0
    name_retries: int = 0
    #: Uploads sent with the edgeperf binary protocol, and frames it had to send again.
    binary_uploads: int = 0
    binary_retransmissions: int = 0
    #: Idempotent commands sent again after a garbled or missing reply.
    command_retries: int = 0
    #: Boot banners seen in the middle of a reply (the board rebooted).
    board_resets: int = 0
    #: Times the board did not answer in time and did not answer `name` either.
    hangs: int = 0
    #: Resets done through the board's reset method, and ports reopened after they went away.
    resets_sent: int = 0
    reconnects: int = 0
    #: Board brought back to a known state (re-identified), and measurements discarded and taken again.
    recoveries: int = 0
    repeated_measurements: int = 0
    #: ASCII uploads read back with `db print` and found equal (done once the session has met a fault).
    uploads_read_back: int = 0
    #: Reply lines that were not protocol (debug prints, line noise): logged and ignored.
    stray_lines: int = 0
    #: Every fault and what was done about it, in order (also in the device log).
    faults: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UploadTiming:
    payload_bytes: int
    seconds: float


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


class DutSession:
    """A conversation with one board speaking the EEMBC ASCII protocol."""

    def __init__(self, link: Link, log: DeviceLog | None = None, *, command_timeout: float = 5.0,
                 chunk_bytes: int = MAX_CHUNK_BYTES, binary: bool = True, policy: RecoveryPolicy = RecoveryPolicy(),
                 reopen: Callable[[], Link] | None = None, reset: Callable[[], str] | None = None) -> None:
        """`reopen` opens the board's port again (it went away); `reset` resets the board and says how."""
        if not 1 <= chunk_bytes <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk_bytes must be 1..{MAX_CHUNK_BYTES}")
        self.link = link
        self.reader = LineReader(link, log)
        self.client = EembcClient(self.reader, on_stray=self._stray)
        self.command_timeout = command_timeout
        self.chunk_bytes = chunk_bytes
        self.policy = policy
        self.reopen = reopen
        self.reset = reset
        self.stats = SessionStats()
        #: True while the board's buffer holds the last upload (a recovery may have lost it).
        self.loaded = False
        #: Read every ASCII upload back with `db print`; switched on by the first fault of the session.
        self.verify_uploads = False
        self._recoveries_left = policy.max_recoveries
        self.identity: Identity | None = None
        #: Upload with the binary protocol when the board advertises it (`binary=False`: ASCII only).
        self.binary_allowed = binary
        self.binary_capable = False

    @property
    def log(self) -> DeviceLog:
        return self.reader.log

    def _stray(self, line: str) -> None:
        self.stats.stray_lines += 1

    def note_fault(self, text: str) -> None:
        """Count and log one fault or recovery step.

        A link that lost or doubled one byte can do it twice in one `db` chunk, which keeps the count
        right and the data wrong; the ASCII protocol has no checksum, so from now on uploads are read back.
        """
        self.verify_uploads = True
        self.stats.faults.append(text)
        self.log.note(f"fault: {text}")

    def _retried(self, what: str, send: Callable[[], T]) -> T:
        """An idempotent command, sent again (after the line goes quiet) when its reply is missing or garbled."""
        attempt = 1
        while True:
            try:
                return send()
            except (LinkTimeout, ProtocolError, BoardReset) as exc:
                if attempt >= self.policy.command_attempts:
                    raise
                self.stats.command_retries += 1
                if what == "name":
                    self.stats.name_retries += 1
                self.note_fault(f"'{what}' attempt {attempt} failed ({exc}); sending it again")
                self.reader.drain(quiet=0.2)
                attempt += 1

    def identify(self, boot_wait: float = 0.3) -> Identity:
        """Read any boot banner, then `name` and `profile`; learn the firmware's timestamp mode."""
        banner = self.reader.drain(quiet=boot_wait)
        mode = self.client.mode_from_banner(banner)
        if mode is not None:
            self.loaded = False  # the board (re)booted: its buffer is empty
        try:
            vendor = self._retried("name", lambda: self.client.name(self.command_timeout))
        except (LinkTimeout, ProtocolError, BoardReset) as exc:
            raise DeviceError(
                f"no MLPerf Tiny DUT answered 'name' on {self.link.url} after {self.policy.command_attempts} attempts "
                f"({exc}). Check the port, the baud rate (115200 for kws/vww/ic performance builds, 921600 for the "
                "reference ad01, 9600 for energy builds) and that the board runs benchmark firmware."
            ) from exc
        profile, model = self._retried("profile", lambda: self.client.profile(self.command_timeout))
        self.binary_capable = self.binary_allowed and binary.CAPABILITY_LINE in self.client.profile_lines
        if mode is None:
            mode = self._retried("timestamp", lambda: self.client.timestamp_mode(self.command_timeout))
        self.identity = Identity(vendor=vendor, profile=profile, model=model, mode=mode)
        return self.identity

    def measure(self, what: str, body: Callable[[], T]) -> tuple[T, list[str]]:
        """Run one measurement until it completes untouched by a fault; return it and the faults it survived.

        A fault anywhere in `body` discards the whole measurement: the board is recovered and
        `body` runs again from the start, never reusing a part of it; only the input in the board's
        buffer is kept when `loaded` says it survived (the board neither rebooted nor was reset).
        """
        mark = len(self.stats.faults)
        self._recoveries_left = self.policy.max_recoveries
        while True:
            try:
                return body(), self.stats.faults[mark:]
            except FAULTS as exc:
                if isinstance(exc, BoardHung):
                    raise
                if isinstance(exc, DeviceError):  # e.g. the board ran on a buffer it lost unseen
                    self.loaded = False
                self.stats.repeated_measurements += 1
                self.note_fault(f"{what} discarded after {type(exc).__name__}: {exc}")
                self.recover(exc)

    def recover(self, cause: Exception) -> None:
        """Bring the board back to a known state: reopen a lost port, reset a hung board, re-identify it.

        The board's buffer is trusted again only if the board neither rebooted nor was out of reach.
        """
        while True:
            self._recoveries_left -= 1
            if self._recoveries_left < 0:
                raise DeviceError(
                    f"gave up after {self.policy.max_recoveries} recoveries from link or board faults in one "
                    f"measurement (last: {cause}). The link or the board is too unreliable to measure: check the "
                    "cable, the USB hub and the board's supply, or raise --max-recoveries."
                ) from cause
            self.stats.recoveries += 1
            try:
                if isinstance(cause, BoardReset):
                    self.stats.board_resets += 1
                    self.loaded = False
                elif isinstance(cause, LinkError) and not isinstance(cause, LinkTimeout):
                    self.loaded = False
                    self._reopen(cause)
                if not self._answers():
                    self.loaded = False
                    self._reset_hung(cause)
                before = self.identity
                after = self.identify(boot_wait=self.policy.boot_seconds)
                if before is not None and (after.model, after.mode) != (before.model, before.mode):
                    # A garbled reply can look like another build; a real swap fails every recovery in a row.
                    raise DeviceError(f"after a recovery the board on {self.link.url} identified as {after.model!r} "
                                      f"({after.mode}), not {before.model!r} ({before.mode})")
                self.note_fault(f"recovered: board re-identified as {after.model} ({after.vendor})")
                return
            except BoardHung:
                raise
            except FAULTS as exc:
                self.note_fault(f"recovery attempt failed: {type(exc).__name__}: {exc}")
                cause = exc

    def _answers(self) -> bool:
        """Is the board alive (its reply was lost or garbled, or it was slow), or hung?"""
        self.reader.drain(quiet=0.2)
        try:
            self.client.name(self.policy.probe_seconds)
            return True
        except LinkTimeout:
            return False
        except (ProtocolError, BoardReset):
            return True  # something answered

    def _reset_hung(self, cause: Exception) -> None:
        self.stats.hangs += 1
        if self.reset is None:
            raise BoardHung(
                f"the board on {self.link.url} stopped answering ({cause}) and did not answer 'name' within "
                f"{self.policy.probe_seconds:g} s, and edgeperf knows no way to reset it. Reset or power-cycle the "
                "board, then run again (accuracy runs continue with --resume); to let edgeperf reset it, name the "
                "board with --board NAME (a debug probe, DTR or RTS reset)."
            ) from cause
        done = self.reset()
        self.stats.resets_sent += 1
        self.note_fault(f"board hung ({cause}); {done}")

    def _reopen(self, cause: Exception) -> None:
        """The port went away (USB unplug, hub reset): open it again, a bounded number of times."""
        if self.reopen is None:
            raise DeviceError(f"the link to the board failed ({cause}) and this session cannot reopen it") from cause
        self.link.close()
        last: Exception = cause
        for attempt in range(1, self.policy.reopen_attempts + 1):
            time.sleep(self.policy.reopen_interval_seconds)
            try:
                link = self.reopen()
            except LinkError as exc:
                last = exc
                self.log.note(f"reopen attempt {attempt} failed: {exc}")
                continue
            self.link = self.reader.link = link
            self.reader.discard_pending()
            self.stats.reconnects += 1
            self.note_fault(f"port lost ({cause}); reopened {link.url} (attempt {attempt})")
            return
        # The cause is in the log already; repeated recoveries must not nest it into every message.
        raise LinkError(f"the board's port {self.link.url} went away and could not be reopened in "
                        f"{self.policy.reopen_attempts} attempts (last: {last})") from last

    def upload(self, data: bytes, progress: ProgressFn | None = None) -> UploadTiming:
        """Load `data` into the board's `db` buffer; confirmed by `m-load-done`, restarted on any error."""
        if not data:
            raise ValueError("refusing to upload an empty input")
        last_error: Exception | None = None
        self.loaded = False
        for attempt in range(self.policy.upload_attempts):
            if attempt:
                self.stats.upload_restarts += 1
                self.note_fault(f"restarting upload (attempt {attempt + 1}) after: {last_error}")
            start = time.monotonic()
            try:
                if self.binary_capable:
                    self._upload_binary(data, progress)
                else:
                    self._upload_once(data, progress)
            except (BoardReset, LinkTimeout):
                raise  # the board rebooted or went silent: it must be recovered and re-identified first
            except (DeviceError, ProtocolError) as exc:
                last_error = exc
                self.reader.drain(quiet=0.1)
                continue
            seconds = time.monotonic() - start
            self.stats.bytes_uploaded += len(data)
            self.stats.upload_seconds += seconds
            self.loaded = True
            return UploadTiming(len(data), seconds)
        raise DeviceError(f"upload of {len(data)} bytes failed {self.policy.upload_attempts} times; last error: {last_error}")

    def _upload_binary(self, data: bytes, progress: ProgressFn | None) -> None:
        """Switch to binary frames, upload in large acknowledged chunks, switch back to ASCII.

        Any failure leaves binary uploads off for this session (the retry then goes over ASCII),
        after a best-effort EXIT so the board parses ASCII again.
        """
        if not binary.switch_to_binary(self.client.command, self.command_timeout):
            self.binary_capable = False
            raise ProtocolError("the board advertised the binary protocol but refused 'binary 1'")
        # A 4 KiB frame takes 4.3 s at 9600 baud: allow for the slowest rate a board may use.
        client = binary.BinaryClient(self.link, self.log, timeout=max(self.command_timeout, 10.0))
        try:
            hello = client.hello()
            client.upload(data, chunk=min(hello.max_chunk, binary.HOST_MAX_CHUNK), progress=progress)
            client.exit()
        except (DeviceError, ProtocolError, LinkTimeout) as exc:
            self.binary_capable = False
            self.log.note(f"binary upload failed ({exc}); leaving binary mode and using ASCII uploads")
            # EXIT if the board is still in binary mode; the final `%` then ends whatever ASCII
            # the board sees (an e- line and m-ready, drained), so the next command starts clean.
            self.link.write(b"\x00" + binary.encode_frame(binary.Msg.EXIT, (client.seq + 1) & 0xFF) + b"%")
            self.reader.drain(quiet=0.2)
            raise ProtocolError(f"binary upload failed: {exc}") from exc
        finally:
            self.stats.binary_retransmissions += client.retransmissions
        self.stats.binary_uploads += 1
        self.log.note(f"binary upload: {len(data)} bytes in {-(-len(data) // hello.max_chunk)} frames")

    def _upload_once(self, data: bytes, progress: ProgressFn | None) -> None:
        lines = self.client.command(f"db load {len(data)}", self.command_timeout)
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
            chunk = data[sent: sent + self.chunk_bytes]
            lines = self.client.command("db " + chunk.hex(), self.command_timeout)
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
        if self.verify_uploads:
            self._read_back(data)

    def _read_back(self, data: bytes) -> None:
        """`db print` until every line of the buffer has come back intact once (lines garbled on the way back are asked again)."""
        confirmed: set[int] = set()
        lines_total = -(-len(data) // 8)
        for _ in range(self.policy.command_attempts):
            confirm_buffer(data, self.client.command("db print", self.command_timeout), confirmed)
            if len(confirmed) == lines_total:
                self.stats.uploads_read_back += 1
                return
        raise ProtocolError(f"'db print' did not bring back {lines_total - len(confirmed)} of {lines_total} buffer "
                            f"lines intact in {self.policy.command_attempts} reads")

    def infer(self, iterations: int, warmups: int, timeout: float) -> InferReply:
        """Run `infer N W` (W always explicit: the firmware default is 10, not 0)."""
        if iterations < 1 or warmups < 0:
            raise ValueError("iterations must be >= 1 and warmups >= 0")
        lines = self.client.command(f"infer {iterations} {warmups}", timeout)
        return parse_infer(lines, iterations, warmups)

    def confirm_results(self, reply: InferReply) -> None:
        """Ask for the results again (`results` is idempotent) and require the same values.

        The ASCII protocol has no checksum: a byte lost or doubled inside a number changes it
        silently. Two transmissions that agree rule that out.
        """
        line = self._retried("results", lambda: [x for x in self.client.command("results", self.command_timeout)
                                                  if x.startswith("m-results-[")])
        again = parse_results(line[0]) if line else None
        if again != reply.results:
            raise ProtocolError(f"the results printed by 'infer' ({reply.results}) and by 'results' ({again}) "
                                "differ: the link garbled one of them")
