"""Write the libFuzzer seed corpus from the protocol vectors: every transcript becomes one input.

`protocols/eembc/vectors`, `firmware/tests/vectors` and `protocols/extensions/vectors` (ASCII commands) seed
`fuzz_parser`;
`protocols/binary/vectors` seed both targets (after the switch command for the parser). Each seed
starts with the mode byte the targets read (firmware/fuzz/fuzz_common.h), chosen from the vector's
profile, so every profile and both binary versions start from real exchanges.

    python firmware/fuzz/make_corpus.py fuzz_parser build/fuzz/corpus-parser
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "host"))

from edgeperf.protocol import transcripts  # noqa: E402
from edgeperf.protocol.binary import encode_frame  # noqa: E402

PROFILES = {"kws01": 0, "vww01": 1, "ic01": 2, "ad01": 3}
#: Mode bits (fuzz_common.h): energy build, binary off, version 2 offered.
ENERGY, NO_BINARY, STREAM = 0x04, 0x08, 0x10


def _settings(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#! "):
            key, _, value = line[3:].partition("=")
            out[key.strip()] = value.strip()
    return out


def binary_requests(path: Path) -> bytes:
    """The bytes a host sends in one binary vector (`>` frames, `>raw` wire, `>a` ASCII after EXIT)."""
    out = bytearray()
    for line in path.read_text().splitlines():
        if line.startswith(">raw "):
            out += bytes.fromhex(line[5:].replace(" ", ""))
        elif line.startswith(">a "):
            out += line[3:].encode()
        elif line.startswith("> "):
            msg_type, seq, *payload = line[2:].split()
            data = "".join(payload)
            out += encode_frame(int(msg_type, 16), int(seq, 16), b"" if data == "-" else bytes.fromhex(data))
    return bytes(out)


def seeds(target: str) -> list[bytes]:
    """Every seed of `target` (fuzz_parser or fuzz_deframer), mode byte first."""
    out: list[bytes] = []
    for path in sorted(REPO.glob("protocols/binary/vectors/*.txt")):
        if path.name == "frames.txt":
            continue
        settings = _settings(path)
        version = int(settings.get("version", "1"))
        profile = PROFILES[settings.get("profile", "kws01")]
        sent = binary_requests(path)
        if target == "fuzz_parser":
            out.append(bytes((profile | STREAM,)) + f"binary {version}%".encode() + sent)
        else:  # even mode byte: wire bytes; bits 1-2 profile, bit 4 a version 2 session
            out.append(bytes(((profile << 1) | (0x10 if version == 2 else 0),)) + sent)
    if target == "fuzz_deframer":  # every frame vector: its wire bytes, and (odd mode) its body to be CRC'd
        for line in (REPO / "protocols/binary/vectors/frames.txt").read_text().splitlines():
            if line.startswith("frame "):
                _, msg_type, seq, payload, wire = line.split()
                out.append(b"\x00" + bytes.fromhex(wire))
                body = bytes((int(msg_type, 16), int(seq, 16))) + (b"" if payload == "-" else bytes.fromhex(payload))
                out.append(b"\x01" + body)
    if target == "fuzz_parser":
        folders = [REPO / "protocols/eembc/vectors", REPO / "firmware/tests/vectors", REPO / "protocols/extensions/vectors"]
        for path in sorted(p for folder in folders for p in folder.glob("*.txt")):
            vector = transcripts.load(path)
            mode = PROFILES.get(vector.settings.get("profile", "kws01"), 0) | STREAM
            if vector.settings.get("energy_mode") == "1":
                mode |= ENERGY
            out.append(bytes((mode,)) + b"".join(step.send for step in vector.steps))
        out.append(bytes((NO_BINARY,)) + b"profile%binary 1%name%")
    return out


def write(target: str, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    found = seeds(target)
    for index, seed in enumerate(found):
        (folder / f"seed-{index:03d}").write_bytes(seed)
    return len(found)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("fuzz_parser", "fuzz_deframer"):
        raise SystemExit("usage: make_corpus.py fuzz_parser|fuzz_deframer OUT_DIR")
    print(f"{write(sys.argv[1], Path(sys.argv[2]))} seeds in {sys.argv[2]}")
