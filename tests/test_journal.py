"""The accuracy journal on disk: resumes exactly where a run stopped, whatever happened to the file."""

from __future__ import annotations

import json

import pytest

from edgeperf.errors import ConfigError
from edgeperf.results.journal import Journal

HEADER = {"benchmark": "kws01", "model_sha256": "ab", "dataset": "cd"}


def _journal(path, count):
    journal = Journal(path, HEADER)
    for index in range(count):
        journal.append({"file": f"f{index}.bin", "label": index % 3, "scores": [0.5, 0.25], "faults": []})
    journal.close()


def _reopened(path):
    journal = Journal(path, HEADER)
    journal.close()
    return journal.records


@pytest.mark.parametrize("damage", ["crlf", "torn", "no-final-newline", "not-utf8-tail"])
def test_a_resumed_journal_keeps_every_complete_record_and_appends_cleanly(tmp_path, damage):
    path = tmp_path / "journal.jsonl"
    _journal(path, 3)
    raw = path.read_bytes()
    path.write_bytes({"crlf": raw.replace(b"\n", b"\r\n"), "torn": raw + b'{"file": "f3.b',
                      "no-final-newline": raw.rstrip(b"\n"), "not-utf8-tail": raw + b"\xff\xfe\n"}[damage])
    assert [r["file"] for r in _reopened(path)] == ["f0.bin", "f1.bin", "f2.bin"]
    journal = Journal(path, HEADER)
    journal.append({"file": "f3.bin", "label": 0, "scores": [1.0, 0.0], "faults": []})
    journal.close()
    assert [r["file"] for r in _reopened(path)] == ["f0.bin", "f1.bin", "f2.bin", "f3.bin"]
    assert all(json.loads(line) for line in path.read_bytes().splitlines())  # no glued or NUL-padded lines


def test_a_hand_edited_journal_is_a_clear_error(tmp_path):
    path = tmp_path / "journal.jsonl"
    _journal(path, 1)
    path.write_text(path.read_text() + "[1, 2]\n")
    with pytest.raises(ConfigError, match="line 3: list where a journal record"):
        Journal(path, HEADER)


def test_a_damaged_line_inside_the_journal_is_an_error_not_a_truncation(tmp_path):
    """Only a torn last line is dropped; a bad line with records after it would lose them, so it is refused."""
    path = tmp_path / "journal.jsonl"
    _journal(path, 3)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"file": "f1\xff.bin"\n'
    path.write_bytes(b"".join(lines))
    with pytest.raises(ConfigError, match=r"line 3 is damaged .* and 1 more line\(s\) follow it"):
        Journal(path, HEADER)
    assert path.read_bytes() == b"".join(lines), "the journal was changed"
