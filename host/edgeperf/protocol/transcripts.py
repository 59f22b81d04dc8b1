"""Conformance transcripts (protocols/*/vectors/*.txt): the format both sides of a protocol are tested with.

Format, one item per line:
    # text          comment
    #! key=value    setting before the first exchange (profile, boot, energy_mode, reference, timer_start);
                    `#! upload=N` anywhere is an action: load N zero bytes into the db buffer
    > bytes         host to device (Python escapes such as \\r \\n allowed)
    < text          one device line ending CRLF
    <| text         one device line ending LF only
    <~ regex        one device line ending CRLF whose text matches the regex
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Expect:
    text: str
    terminator: str = "\r\n"
    regex: bool = False

    def match(self, data: bytes) -> int:
        """Length of `data`'s prefix this expectation consumes, or -1 when it does not match."""
        end = data.find(self.terminator.encode())
        if self.regex:
            if end < 0:
                return -1
            return end + len(self.terminator) if re.fullmatch(self.text, data[:end].decode("latin-1")) else -1
        want = (self.text + self.terminator).encode("latin-1")
        return len(want) if data.startswith(want) else -1


@dataclass
class Step:
    send: bytes = b""
    upload: int = 0
    expect: list[Expect] = field(default_factory=list)


@dataclass
class Transcript:
    name: str
    settings: dict[str, str]
    boot: list[Expect]
    steps: list[Step]


def _unescape(text: str) -> str:
    return codecs.decode(text, "unicode_escape")


def load(path: Path) -> Transcript:
    settings: dict[str, str] = {}
    boot: list[Expect] = []
    steps: list[Step] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#! "):
            key, _, value = raw[3:].partition("=")
            if key == "upload":
                steps.append(Step(upload=int(value)))
            else:
                settings[key.strip()] = value.strip()
        elif raw.startswith("#") or not raw.strip():
            continue
        elif raw.startswith("> "):
            steps.append(Step(send=_unescape(raw[2:]).encode("latin-1")))
        else:
            for prefix, expect in (("<~ ", lambda t: Expect(t, regex=True)), ("<| ", lambda t: Expect(_unescape(t), "\n")),
                                   ("< ", lambda t: Expect(_unescape(t))), ("<", lambda t: Expect(""))):
                if raw.startswith(prefix):
                    (steps[-1].expect if steps else boot).append(expect(raw[len(prefix):]))
                    break
            else:
                raise ValueError(f"{path}: unrecognised line {raw!r}")
    return Transcript(path.stem, settings, boot, steps)


def load_all(folder: Path) -> list[Transcript]:
    return [load(p) for p in sorted(folder.glob("*.txt"))]


def match_all(expects: list[Expect], data: bytes) -> str | None:
    """None when `data` is exactly the expected lines; otherwise what went wrong."""
    at = 0
    for index, expect in enumerate(expects):
        used = expect.match(data[at:])
        if used < 0:
            return f"line {index + 1}: expected {expect.text!r}, got {data[at:at + 120]!r}"
        at += used
    return None if at == len(data) else f"unexpected trailing output {data[at:at + 120]!r}"
