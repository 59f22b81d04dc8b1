"""The DUT session: what a run rule talks to. Identify, upload, infer; robust to every firmware quirk.

It also carries the recovery policy for flaky benches: idempotent commands are retried, and a
measurement hit by a fault (a garbled reply, a reboot seen by its banner, a hang, a lost port) is
thrown away whole; the board is brought back (reopen, reset, re-identify) and the measurement is
taken again from its upload. Every fault and what was done about it is counted and logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import BoardHung, BoardReset, DeviceError, LinkError, LinkTimeout, MonitorError, ProtocolError
from .links import Link
from .protocol import binary
from .protocol.eembc import (
    MAX_CHUNK_BYTES,
    EembcClient,
    Identity,
    InferReply,
    ProgressFn,
    check_energy_reply,
    parse_infer,
)
from .protocol.extensions import LayerTimes, parse_layers
from .protocol.lines import LineReader
from .protocol.transcript import DeviceLog

T = TypeVar("T")
#: Failures a flaky link, board or bench can cause; anything else (a wrong setting, a wrong model) is not retried.
FAULTS = (LinkError, ProtocolError, DeviceError, MonitorError)


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
    #: Of the binary uploads, those streamed in while the board inferred (binary version 2).
    streamed_uploads: int = 0
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
    #: ASCII uploads read back with `db print` and found equal (done once the session has met a link fault).
    uploads_read_back: int = 0
    #: Reply lines that were not protocol (debug prints, line noise): logged and ignored.
    stray_lines: int = 0
    #: Every fault and what was done about it, in order (also in the device log).
    faults: list[str] = field(default_factory=list)
    #: One line per completed recovery: `what failed: why -> what was done`.
    recovery_actions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UploadTiming:
    payload_bytes: int
    seconds: float


def open_again(open_: Callable[[], T], policy: RecoveryPolicy, note: Callable[[str], None],
               retry_on: tuple[type[Exception], ...] = (LinkError,)) -> tuple[T, int]:
    """Open something that went away (a board's port, a monitor's USB link) again, a bounded number of times.

    Returns it and the attempt that worked; the last failure is raised when every attempt failed.
    """
    last: Exception | None = None
    for attempt in range(1, policy.reopen_attempts + 1):
        time.sleep(policy.reopen_interval_seconds)
        try:
            return open_(), attempt
        except retry_on as exc:
            last = exc
            note(f"reopen attempt {attempt}/{policy.reopen_attempts} failed: {exc}")
    assert last is not None
    raise last


class DutSession:
    """A conversation with one board speaking the EEMBC ASCII protocol: the only way a rule reaches a board.

    Every mode measures through `measure`, so every mode recovers the same way. What differs between
    benches plugs in: `reopen` opens the board's port again, `reset` resets the board and says how (a
    debug probe, a reset pin, or in energy mode a power cycle through the monitor that supplies it).
    """

    def __init__(self, link: Link, log: DeviceLog | None = None, *, command_timeout: float = 5.0,
                 chunk_bytes: int = MAX_CHUNK_BYTES, binary: bool = True, policy: RecoveryPolicy = RecoveryPolicy(),
                 reopen: Callable[[], Link] | None = None, reset: Callable[[], str] | None = None) -> None:
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
        #: Read every ASCII upload back with `db print`; switched on by the first link fault of the session.
        self.verify_uploads = False
        self._recoveries_left = policy.max_recoveries
        self.identity: Identity | None = None
        #: Upload with the binary protocol when the board advertises it (`binary=False`: ASCII only).
        self.binary_allowed = binary
        self.binary_capable = False
        #: The board advertises binary version 2 (next input streamed while it infers: dut_stream.py).
        self.stream_capable = False
        #: Called first on any fault in a measurement (a binary session takes the board back to ASCII).
        self.on_fault: Callable[[], None] | None = None

    @property
    def log(self) -> DeviceLog:
        return self.reader.log

    @property
    def url(self) -> str:
        return self.link.url

    def close(self) -> None:
        """Release the board's port (safe twice); a LoadGen child or the next run may then open it."""
        self.link.close()

    def _stray(self, line: str) -> None:
        self.stats.stray_lines += 1

    def note_fault(self, text: str, link: bool = True) -> None:
        """Count and log one fault or recovery step.

        A link that lost or doubled one byte can do it twice in one `db` chunk, which keeps the count
        right and the data wrong; the ASCII protocol has no checksum, so after a link fault uploads are
        read back. A board that rebooted or a monitor that failed (`link=False`) damaged no byte.
        """
        self.verify_uploads = self.verify_uploads or link
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

    def identify(self, boot_wait: float = 0.3, known_mode: str | None = None) -> Identity:
        """Read any boot banner, then `name` and `profile`; learn the firmware's timestamp mode.

        `known_mode`: the mode of a board that did not reboot since it was last identified. It is
        not asked again, because asking means a `timestamp` command, which on an energy build puts
        a pulse on the line the monitor watches.
        """
        banner = self.reader.drain(quiet=boot_wait)
        mode = self.client.mode_from_banner(banner)
        if mode is not None:
            self.loaded = False  # the board (re)booted: its buffer is empty
        else:
            mode = known_mode
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
        self.stream_capable = self.binary_capable and binary.STREAM_CAPABILITY_LINE in self.client.profile_lines
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
                if exc.fatal:
                    raise
                if isinstance(exc, DeviceError):  # e.g. the board ran on a buffer it lost unseen
                    self.loaded = False
                if self.on_fault is not None:
                    self.on_fault()
                self.stats.repeated_measurements += 1
                self.note_fault(f"{what} discarded after {type(exc).__name__}: {exc}",
                                link=not isinstance(exc, (BoardReset, MonitorError)))
                self.recover(exc, what)

    def recover(self, cause: Exception, what: str = "") -> None:
        """Bring the board back to a known state: reopen a lost port, reset a hung board, re-identify it.

        A bench fault (the monitor that powers the board stopped) resets the board through the bench.
        The board's buffer is trusted again only if the board neither rebooted nor was out of reach.
        """
        reason = f"{what}: {cause}" if what else str(cause)
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
                actions = self._bring_back(cause)
                before = self.identity
                # A board keeps its build; one that rebooted prints its mode in its banner anyway.
                after = self.identify(self.policy.boot_seconds, before.mode if before else None)
                if before is not None and (after.model, after.mode) != (before.model, before.mode):
                    # A garbled reply can look like another build; a real swap fails every recovery in a row.
                    raise DeviceError(f"after a recovery the board on {self.link.url} identified as {after.model!r} "
                                      f"({after.mode}), not {before.model!r} ({before.mode})")
                self.note_fault(f"recovered: board re-identified as {after.model} ({after.vendor})", link=False)
                self.stats.recovery_actions.append(f"{reason} -> {', '.join(actions)}")
                return
            except FAULTS as exc:
                if exc.fatal:
                    raise
                self.note_fault(f"recovery attempt failed: {type(exc).__name__}: {exc}")
                cause = exc

    def _bring_back(self, cause: Exception) -> list[str]:
        """The steps a cause needs before the board can be identified again; what was done, in words."""
        if isinstance(cause, BoardReset):
            self.stats.board_resets += 1
            self.loaded = False
            return ["identified the rebooted board again"]
        actions = []
        if isinstance(cause, LinkError) and not isinstance(cause, LinkTimeout):
            self.loaded = False
            actions.append(self._reopen(cause))
        if isinstance(cause, MonitorError):
            self.loaded = False
            actions.append(self._reset(cause))
        elif not self._answers():
            self.loaded = False
            self.stats.hangs += 1
            actions.append(self._reset(cause))
        return actions + ["identified the board again" if actions else "the board still answers; identified it again"]

    def _answers(self) -> bool:
        """Is the board alive (its reply was lost or garbled, or it was slow), or hung? Any answer counts."""
        self.reader.drain(quiet=0.2)
        try:
            self.client.name(self.policy.probe_seconds)
            return True
        except LinkTimeout:
            return False
        except (ProtocolError, BoardReset):
            return True  # something answered

    def _reset(self, cause: Exception) -> str:
        if self.reset is None:
            raise BoardHung(
                f"the board on {self.link.url} stopped answering ({cause}) and did not answer 'name' within "
                f"{self.policy.probe_seconds:g} s, and edgeperf knows no way to reset it. Reset or power-cycle the "
                "board, then run again (accuracy runs continue with --resume); to let edgeperf reset it, name the "
                "board with --board NAME (a debug probe, DTR or RTS reset)."
            ) from cause
        done = self.reset()
        self.link.resync()  # nothing in flight before the reset will complete
        self.reader.discard_pending()
        self.stats.resets_sent += 1
        self.note_fault(f"board reset ({cause}); {done}")
        return done

    def _reopen(self, cause: Exception) -> str:
        """The port went away (USB unplug, hub reset): open it again, a bounded number of times."""
        if self.reopen is None:
            raise DeviceError(f"the link to the board failed ({cause}) and this session cannot reopen it") from cause
        self.link.close()
        try:
            link, attempt = open_again(self.reopen, self.policy, self.log.note)
        except LinkError as last:
            # The cause is in the log already; repeated recoveries must not nest it into every message.
            raise LinkError(f"the board's port {self.link.url} went away and could not be reopened in "
                            f"{self.policy.reopen_attempts} attempts (last: {last})") from last
        self.link = self.reader.link = link
        self.reader.discard_pending()
        self.stats.reconnects += 1
        self.note_fault(f"port lost ({cause}); reopened {link.url} (attempt {attempt})")
        return f"reopened {link.url}"

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
                    self.client.load(data, self.command_timeout, self.chunk_bytes, progress)
                    if self.verify_uploads:
                        self.client.read_back(data, self.command_timeout, self.policy.command_attempts)
                        self.stats.uploads_read_back += 1
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

    def infer(self, iterations: int, warmups: int, timeout: float) -> InferReply:
        """Run `infer N W` (W always explicit: the firmware default is 10, not 0), timed by the board."""
        if iterations < 1 or warmups < 0:
            raise ValueError("iterations must be >= 1 and warmups >= 0")
        lines = self.client.command(f"infer {iterations} {warmups}", timeout)
        return parse_infer(lines, iterations, warmups)

    def infer_untimed(self, iterations: int, warmups: int, timeout: float, check: Callable[[], None]) -> None:
        """Run `infer N W` on an energy build, which times nothing itself: its timestamp pin does.

        `check` runs about once a second while the reply is awaited (the monitor that powers the
        board: if it fails, no reply will come, so the wait ends at once).
        """
        lines = self.client.command(f"infer {iterations} {warmups}", timeout, check)
        check_energy_reply(lines, iterations)

    def timestamp(self) -> None:
        """One `timestamp` command: an energy build pulses its timestamp pin once."""
        self.client.command("timestamp", self.command_timeout)

    def layers(self) -> LayerTimes:
        """The board's operator times of its last `infer` (`layers`, protocols/extensions); idempotent, so a
        garbled or lost reply is asked for again."""
        return self._retried("layers", lambda: parse_layers(self.client.command("layers", self.command_timeout)))

    def confirm_results(self, reply: InferReply) -> None:
        """Ask for the results again (`results` is idempotent) and require the same values.

        The ASCII protocol has no checksum: a byte lost or doubled inside a number changes it
        silently. Two transmissions that agree rule that out.
        """
        again = self._retried("results", lambda: self.client.results(self.command_timeout))
        if again != reply.results:
            raise ProtocolError(f"the results printed by 'infer' ({reply.results}) and by 'results' ({again}) "
                                "differ: the link garbled one of them")
