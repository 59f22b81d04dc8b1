"""Reader and replayer for protocols/binary/vectors (format in protocols/binary/README.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.protocol.binary import decode_frame, encode_frame
from edgeperf.protocol.transcripts import Expect, match_all
from edgeperf.resources import shipped_dir

VECTORS = shipped_dir("protocols") / "binary" / "vectors"


@dataclass
class Step:
    send: bytes
    #: "TT SS payload-pattern" (hex, .. wildcards, * rest): the replies expected once this step is sent, in order
    #: (several when requests were sent back to back without waiting, as binary version 2 streams them).
    expect_frames: list[str] = field(default_factory=list)
    expect_ascii: list[Expect] = field(default_factory=list)


@dataclass
class Exchange:
    name: str
    settings: dict[str, str]
    steps: list[Step]


def _hex(text: str) -> bytes:
    text = text.replace(" ", "")
    return b"" if text == "-" else bytes.fromhex(text)


def load(path: Path) -> Exchange:
    settings: dict[str, str] = {}
    steps: list[Step] = []
    for raw in path.read_text().splitlines():
        if raw.startswith("#! "):
            key, _, value = raw[3:].partition("=")
            settings[key.strip()] = value.strip()
        elif not raw.strip() or raw.startswith("#"):
            continue
        elif raw.startswith(">raw "):
            steps.append(Step(_hex(raw[5:])))
        elif raw.startswith(">a "):
            steps.append(Step(raw[3:].encode()))
        elif raw.startswith("> "):
            msg_type, seq, *payload = raw[2:].split()
            steps.append(Step(encode_frame(int(msg_type, 16), int(seq, 16), _hex("".join(payload) or "-"))))
        elif raw.startswith("<a~ "):
            steps[-1].expect_ascii.append(Expect(raw[4:], regex=True))
        elif raw.startswith("<a "):
            steps[-1].expect_ascii.append(Expect(raw[3:]))
        elif raw.startswith("< "):
            steps[-1].expect_frames.append(raw[2:])
        else:
            raise ValueError(f"{path}: unrecognised line {raw!r}")
    return Exchange(path.stem, settings, steps)


def switch_command(exchange: Exchange) -> tuple[bytes, bytes]:
    """The ASCII command that opens the exchange's binary session, and the board's answer."""
    version = exchange.settings.get("version", "1")
    return f"binary {version}%".encode(), f"m-binary-[{version}]\r\nm-ready\r\n".encode()


def load_all() -> list[Exchange]:
    return [load(p) for p in sorted(VECTORS.glob("*.txt")) if p.name != "frames.txt"]


def frame_vectors() -> list[tuple[int, int, bytes, bytes]]:
    out = []
    for line in (VECTORS / "frames.txt").read_text().splitlines():
        if line.startswith("frame "):
            _, msg_type, seq, payload, wire = line.split()
            out.append((int(msg_type, 16), int(seq, 16), _hex(payload), bytes.fromhex(wire)))
    return out


def body_matches(pattern: str, body: bytes) -> str | None:
    """None when `body` (type, seq, payload) matches the pattern; otherwise the difference."""
    text = pattern.replace(" ", "")
    rest = text.endswith("*")
    text = text.rstrip("*")
    got = body.hex()
    return None if _match(text, got, rest) else f"expected {pattern}, got {got}"


def _match(pattern: str, got: str, rest: bool) -> bool:
    if len(got) < len(pattern) or (not rest and len(got) != len(pattern)):
        return False
    return all(p == "." or p == g for p, g in zip(pattern, got))


Reader = Callable[[Callable[[bytes], bool], float], bytes]


def replay(exchange: Exchange, write: Callable[[bytes], None], read_until: Reader) -> None:
    """Send each step; check the one reply frame (or ASCII lines) it must produce."""
    for index, step in enumerate(exchange.steps, start=1):
        write(step.send)
        if step.expect_frames:
            count = len(step.expect_frames)
            data = read_until(lambda buf: buf.count(b"\x00") >= count, 20.0)
            assert data.endswith(b"\x00") and data.count(b"\x00") == count, \
                f"step {index}: not {count} frame(s): {data.hex()}"
            for pattern, wire in zip(step.expect_frames, data[:-1].split(b"\x00")):
                received = decode_frame(wire)
                problem = body_matches(pattern, bytes((received.type, received.seq)) + received.payload)
                assert problem is None, f"{exchange.name} step {index}: {problem}"
        if step.expect_ascii:
            data = read_until(lambda buf: match_all(step.expect_ascii, buf) is None, 20.0)
            problem = match_all(step.expect_ascii, data)
            assert problem is None, f"{exchange.name} step {index}: {problem}"
