"""The DUT side of the EEMBC protocol, behaving like unchanged MLPerf Tiny reference firmware.

A pure state machine: bytes go in through `feed`, text comes out through the `write`
callback, and time comes from an injected `Clock`. Quirks of the reference
firmware are reproduced on purpose (see protocols/eembc/README.md); its memory-safety
bugs are made observable but harmless:

* an over-long command is cut to its first 80 characters (later bytes land in the last slot,
  which the terminator then overwrites);
* a bare `%` (undefined behaviour in the reference) is answered `e-[Unknown command: ]`;
* `db load N` above the buffer size is accepted as the reference does, but bytes past the
  buffer are counted, not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .binary import BinaryDut
from .buffer import InputBuffer
from .clock import COUNTER_MODULUS, Clock, InferTruth
from .layers import LayerTimer
from .port import Port

FW_VERSION = "ULPMark for tinyML Firmware V0.0.1"
CMD_SIZE = 80

HELP_LINES = (
    FW_VERSION,
    "",
    "help         : Print this information",
    "name         : Print the name of the device",
    "timestsamp   : Generate a timetsamp",
    "db SUBCMD    : Manipulate a generic byte buffer",
    "  load N     : Allocate N bytes and set load counter",
    "  db HH[HH]* : Load 8-bit hex byte(s) until N bytes",
    "  print [N=16] [offset=0]",
    "             : Print N bytes at offset as hex",
    "infer N [W=0]: Load input, execute N inferences after W warmup loops",
    "results      : Return the result fp32 vector",
)


class Interrupted(Exception):
    """A fault cut the current command short: the board resets, or hangs until it is reset."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class EembcDut:
    """One board running the reference `ee_serial_callback` / parser / `ee_infer` logic."""

    def __init__(self, port: Port, clock: Clock, write: Callable[[bytes], None], *,
                 inference_ns: float, max_input: int, vendor: str = "unspecified", energy_mode: bool = False,
                 run_inferences: Callable[[int, float], None] | None = None,
                 on_infer: Callable[[InferTruth], None] | None = None,
                 on_timestamp: Callable[[str], None] | None = None,
                 binary: bool = False, set_baud: Callable[[int], None] | None = None,
                 on_event: Callable[[str], str | None] | None = None,
                 disconnect: Callable[[], None] | None = None, max_iterations: int | None = None,
                 rx_backlog: int = 0, layer_costs: Sequence[tuple[str, float]] | None = None,
                 facts: Sequence[str] = ()) -> None:
        self.port = port
        self.clock = clock
        self._write = write
        self.inference_ns = inference_ns
        self.max_input = max_input
        self.vendor = vendor
        self.energy_mode = energy_mode
        self._run = run_inferences or self._run_plain
        self._on_infer = on_infer
        self._on_timestamp = on_timestamp
        self._cmd = bytearray(CMD_SIZE + 1)
        self._pos = 0
        self._enabled = False
        #: The one input buffer, filled by ASCII `db` commands and binary DATA frames alike.
        self.buffer = InputBuffer(max_input)
        #: Speaks the edgeperf binary protocol after `binary 1%` (not part of the reference firmware).
        self.binary = binary
        self._set_baud = set_baud
        #: Bytes the UART keeps receiving while an inference runs (binary version 2 needs it); 0: none.
        self.rx_backlog = rx_backlog
        self._binary_dut: BinaryDut | None = None
        #: Fault injection: told of every command, upload and inference; may answer reset, hang or disconnect.
        self._on_event = on_event
        self._disconnect = disconnect
        #: A hung board ignores every byte until it is reset.
        self.hung = False
        #: The most iterations, and warm-ups, one `infer` may ask for (the agent's; the reference has no bound).
        self.max_iterations = max_iterations
        #: The `layers` extension (protocols/extensions): each operator's name and relative cost; None: not spoken.
        self.layers = LayerTimer(layer_costs) if layer_costs is not None else None
        #: Further `m-ext-[NAME=VALUE]` facts `profile` prints (e.g. `arena-used-bytes=24224`).
        self.facts = list(facts)

    # -- output helpers
    def send(self, data: bytes) -> None:
        """Raw bytes to the host (the binary side's frames)."""
        self._write(data)

    def _print(self, text: str) -> None:
        self._write(text.encode("ascii", errors="replace"))

    def _line(self, text: str) -> None:
        self._print(text + "\r\n")

    def timestamp(self, phase: str = "command") -> None:
        """th_timestamp: in performance mode print the counter; in energy mode only the pin moves.

        `phase` (boot, command, start, stop) tells a bench which pulse this is; the wire never sees it.
        """
        if not self.energy_mode:
            self._line(f"m-lap-us-{self.clock.now_us()}")
        elif self._on_timestamp is not None:
            self._on_timestamp(phase)

    def boot(self) -> None:
        """ee_benchmark_initialize: banner, one timestamp, then enable the parser."""
        self._line(f"m-timestamp-mode-{'energy' if self.energy_mode else 'performance'}")
        self.timestamp("boot")
        self._line("m-init-done")
        self._enabled = True
        self._line("m-ready")

    def reset(self) -> None:
        """A reset (button, reset line, brown-out): parser, buffer and binary mode are lost, then the banner."""
        self.hung = False
        self._enabled = False
        self._pos = 0
        self.buffer.clear()
        self._binary_dut = None
        if self.layers is not None:
            self.layers.reset()
        self.boot()

    def new_host(self) -> None:
        """Another host took the link: half a command (or a binary session) left by the last one is dropped."""
        self._pos = 0
        self._binary_dut = None

    def event(self, name: str) -> None:
        """Let an injected fault act at this point of the protocol."""
        action = self._on_event(name) if self._on_event else None
        if action == "disconnect" and self._disconnect:
            self._disconnect()
        elif action in ("reset", "hang"):
            raise Interrupted(action)

    # -- byte intake (ee_serial_callback)
    def feed(self, data: bytes) -> None:
        i = 0
        while i < len(data):
            if self.hung:
                return
            try:
                binary = self._binary_dut
                end = data.find(0, i) if binary is not None else -1
                if binary is not None and end != i:
                    # Binary frame bytes up to the next delimiter, in one go (an input streamed in during an inference).
                    binary.extend(data[i:end if end >= 0 else len(data)])
                    i = end if end >= 0 else len(data)
                    continue
                i += 1
                self._feed_byte(data[i - 1])
            except Interrupted as stop:
                if stop.action == "reset":
                    self.reset()
                else:
                    self.hung = True

    def _feed_byte(self, byte: int) -> None:
        if self._binary_dut is not None:
            if self._binary_dut.feed(byte):
                self._binary_dut = None  # EXIT: back to ASCII
            return
        if byte == ord("%"):
            command = bytes(self._cmd[: self._pos])
            self._pos = 0
            if self._enabled:
                self.event("command")
                self._dispatch(command.decode("latin-1"))
        else:
            self._cmd[self._pos] = byte
            # The reference saturates the index at 80: later bytes overwrite the slot the NUL will take.
            self._pos = min(self._pos + 1, CMD_SIZE)

    def _dispatch(self, command: str) -> None:
        tokens = [t for t in command.split(" ") if t]
        head = tokens[0] if tokens else ""
        if head == "binary" and self.binary:
            self._switch_binary(tokens[1:])
            return
        if head == "name":
            self._line(f"m-name-dut-[{self.vendor}]")
        elif head == "timestamp":
            self.timestamp()
        elif not self._profile_command(head, tokens[1:]):
            self._line(f"e-[Unknown command: {head}]")
        self._line("m-ready")

    def _profile_command(self, head: str, args: list[str]) -> bool:
        if head == "profile":
            self._line(f"m-profile-[{FW_VERSION}]")
            self._line(f"m-model-[{self.port.profile}]")
            if self.binary:
                self._line("m-ext-[edgeperf-binary-1]")
                if self.rx_backlog:
                    self._line("m-ext-[edgeperf-binary-2]")
            if self.layers is not None:
                self._line("m-ext-[edgeperf-layers-1]")
            for fact in self.facts:
                self._line(f"m-ext-[{fact}]")
        elif head == "layers" and self.layers is not None:
            for line in self.layers.lines():
                self._line(line)
        elif head == "help":
            for line in HELP_LINES:
                self._line(line)
        elif head == "db":
            self._db(args)
        elif head == "infer":
            self._infer(args)
        elif head == "results":
            self._print(self.port.results_line())
        else:
            return False
        return True

    # -- db buffer
    def _db(self, args: list[str]) -> None:
        if not args:
            self._line("e-[Command 'db' requires a subcommand]")
        elif args[0] == "load":
            if len(args) < 2:
                self._line("e-[Command 'db load' requires the # of bytes]")
                return
            size = _atoi(args[1])
            if size <= 0:
                self._line("e-[Command 'db load' must be >0 bytes]")
                return
            if size > self.max_input:
                self._print(f"Supplied buffer size {size} exceeds maximum of {self.max_input}\n")
            else:
                self._line(f"m-[Expecting {size} bytes]")
            self.buffer.start(size)
        elif args[0] == "print":
            self._db_print()
        else:
            self._db_hex(args[0])

    def _db_hex(self, digits: str) -> None:
        if len(digits) % 2:
            self._line("e-[Insufficent number of hex digits]")
            return
        buffer = self.buffer
        if buffer.pos == 0 and buffer.size > 0:
            self.event("upload")
        for i in range(0, len(digits), 2):
            pair = digits[i: i + 2]
            try:
                value = int(pair, 16) if all(c in "0123456789abcdefABCDEF" for c in pair) else -1
            except ValueError:
                value = -1
            if value < 0:
                self._line(f"e-[Invalid hex digit '{pair}']")
                return
            buffer.put(value)
            if buffer.complete:
                self._line("m-load-done")
                return

    def _db_print(self) -> None:
        shown = self.buffer.printable()
        for start in range(0, len(shown), 8):
            self._line("m-buffer-" + "-".join(f"{b:02x}" for b in shown[start: start + 8]))
        if len(shown) % 8:
            self._print("\r\n")

    # -- inference
    def _infer(self, args: list[str]) -> None:
        iterations = _atoi(args[0]) if args else 1
        warmups = _atoi(args[1]) if len(args) > 1 else 10
        if iterations <= 0:
            self._line("e-[Inference iterations must be >0]")
            return
        if warmups < 0:
            self._line("e-[Inference warmup must be >=0]")
            return
        if self.max_iterations is not None and max(iterations, warmups) > self.max_iterations:
            self._line(f"e-[Inference iterations and warmups must be <={self.max_iterations}]")
            return
        warning = self.port.load_tensor(self.buffer.loaded())
        if warning:
            self._print(warning)
        self._line(f"m-warmup-start-{warmups}")
        self.timed_loop(iterations, warmups, announce=True)
        self._line("m-infer-done")
        self._print(self.port.results_line())

    def _switch_binary(self, args: list[str]) -> None:
        versions = ("1", "2") if self.rx_backlog else ("1",)
        if len(args) < 1 or args[0] not in versions:
            self._line("e-[Unsupported binary protocol version]")
        else:
            self._line(f"m-binary-[{args[0]}]")
            self._binary_dut = BinaryDut(self, self._set_baud, int(args[0]))
        self._line("m-ready")

    def timed_loop(self, iterations: int, warmups: int, announce: bool = False) -> tuple[int, int]:
        """Warm-ups, t0, the loop, t1: the one timed loop of both protocols.

        `announce` (ASCII `infer`) prints the reference's progress lines and timestamps around it;
        the binary INFER returns t0 and t1 in its reply instead.
        """
        self._run(warmups, self.inference_ns)
        if announce:
            self._line("m-warmup-done")
            self._line(f"m-infer-start-{iterations}")
        t0 = self.clock.now_us()
        if announce:
            self.timestamp("start")
        self.event("infer")
        start_ns = self.clock.ns
        self._run(iterations, self.inference_ns)
        t1 = self.clock.now_us()
        if announce:
            self.timestamp("stop")
        if self.layers is not None:
            self.layers.record(iterations, (t1 - t0) % COUNTER_MODULUS)
        if self._on_infer:
            self._on_infer(InferTruth(iterations, warmups, t0, t1, (t1 - t0) % COUNTER_MODULUS,
                                      (self.clock.ns - start_ns) / iterations / 1000))
        return t0, t1

    def _run_plain(self, count: int, inference_ns: float) -> None:
        for _ in range(count):
            self.port.infer()
            self.clock.advance_ns(inference_ns)


def _atoi(text: str) -> int:
    """C atoi: leading sign and ASCII digits, anything else stops the number (so 'abc' is 0).

    Only 0-9 count, as in C: `str.isdigit` also accepts the superscripts a byte such as 0xB2 decodes to.
    """
    text = text.lstrip()
    sign, i = 1, 0
    if text[:1] in "+-" and text:
        sign, i = (-1 if text[0] == "-" else 1), 1
    digits = ""
    while i < len(text) and "0" <= text[i] <= "9":
        digits += text[i]
        i += 1
    return sign * int(digits) if digits else 0
