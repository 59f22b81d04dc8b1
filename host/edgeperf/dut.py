"""The DUT session: what a run rule talks to. Identify, upload, infer; robust to every firmware quirk."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConfigError, DeviceError, LinkTimeout, ProtocolError
from .links import Link
from .protocol import binary
from .protocol.eembc import EembcClient, Identity, InferReply, is_error, parse_infer
from .protocol.lines import LineReader
from .protocol.transcript import DeviceLog

#: `db ` + 76 hex digits = 79 characters, the longest command the reference parser takes intact.
MAX_CHUNK_BYTES = 38

_EXPECTING = re.compile(r"^m-\[Expecting (\d+) bytes\]$")
_TOO_BIG = re.compile(r"^Supplied buffer size (\d+) exceeds maximum of (\d+)$")

ProgressFn = Callable[[int, int], None]


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


@dataclass(frozen=True)
class UploadTiming:
    payload_bytes: int
    seconds: float


class DutSession:
    """A conversation with one board speaking the EEMBC ASCII protocol."""

    def __init__(self, link: Link, log: DeviceLog | None = None, *, command_timeout: float = 5.0,
                 chunk_bytes: int = MAX_CHUNK_BYTES, upload_attempts: int = 3, binary: bool = True) -> None:
        if not 1 <= chunk_bytes <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk_bytes must be 1..{MAX_CHUNK_BYTES}")
        self.link = link
        self.reader = LineReader(link, log)
        self.client = EembcClient(self.reader)
        self.command_timeout = command_timeout
        self.chunk_bytes = chunk_bytes
        self.upload_attempts = upload_attempts
        self.stats = SessionStats()
        self.identity: Identity | None = None
        #: Upload with the binary protocol when the board advertises it (`binary=False`: ASCII only).
        self.binary_allowed = binary
        self.binary_capable = False

    @property
    def log(self) -> DeviceLog:
        return self.reader.log

    def identify(self, boot_wait: float = 0.3, attempts: int = 3) -> Identity:
        """Read any boot banner, then `name` and `profile`; learn the firmware's timestamp mode."""
        banner = self.reader.drain(quiet=boot_wait)
        mode = self.client.mode_from_banner(banner)
        vendor = None
        for attempt in range(attempts):
            try:
                vendor = self.client.name(self.command_timeout)
                break
            except (LinkTimeout, ProtocolError) as exc:
                self.stats.name_retries += 1
                self.log.note(f"name attempt {attempt + 1} failed: {exc}")
                self.reader.drain(quiet=0.2)
        if vendor is None:
            raise DeviceError(
                f"no MLPerf Tiny DUT answered 'name' on {self.link.url} after {attempts} attempts. Check the port, "
                "the baud rate (115200 for kws/vww/ic performance builds, 921600 for the reference ad01, 9600 for "
                "energy builds) and that the board runs benchmark firmware."
            )
        profile, model = self.client.profile(self.command_timeout)
        self.binary_capable = self.binary_allowed and binary.CAPABILITY_LINE in self.client.profile_lines
        if mode is None:
            mode = self.client.timestamp_mode(self.command_timeout)
        self.identity = Identity(vendor=vendor, profile=profile, model=model, mode=mode)
        return self.identity

    def upload(self, data: bytes, progress: ProgressFn | None = None) -> UploadTiming:
        """Load `data` into the board's `db` buffer; confirmed by `m-load-done`, restarted on any error."""
        if not data:
            raise ValueError("refusing to upload an empty input")
        last_error: Exception | None = None
        for attempt in range(self.upload_attempts):
            if attempt:
                self.stats.upload_restarts += 1
                self.log.note(f"restarting upload (attempt {attempt + 1}) after: {last_error}")
            start = time.monotonic()
            try:
                if self.binary_capable:
                    self._upload_binary(data, progress)
                else:
                    self._upload_once(data, progress)
            except (DeviceError, ProtocolError, LinkTimeout) as exc:
                last_error = exc
                self.reader.drain(quiet=0.1)
                continue
            seconds = time.monotonic() - start
            self.stats.bytes_uploaded += len(data)
            self.stats.upload_seconds += seconds
            return UploadTiming(len(data), seconds)
        raise DeviceError(f"upload of {len(data)} bytes failed {self.upload_attempts} times; last error: {last_error}")

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
            raise
        finally:
            self.stats.binary_retransmissions += client.retransmissions
        self.stats.binary_uploads += 1
        self.log.note(f"binary upload: {len(data)} bytes in {-(-len(data) // hello.max_chunk)} frames")

    def _upload_once(self, data: bytes, progress: ProgressFn | None) -> None:
        lines = self.client.command(f"db load {len(data)}", self.command_timeout)
        for line in lines:
            if (m := _TOO_BIG.match(line)):
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

    def infer(self, iterations: int, warmups: int, timeout: float) -> InferReply:
        """Run `infer N W` (W always explicit: the firmware default is 10, not 0)."""
        if iterations < 1 or warmups < 0:
            raise ValueError("iterations must be >= 1 and warmups >= 0")
        lines = self.client.command(f"infer {iterations} {warmups}", timeout)
        return parse_infer(lines, iterations, warmups)
