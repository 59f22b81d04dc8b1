"""Bad input and a hostile environment, across the CLI: one clear line and the documented exit code, never a
Python traceback (issue 15, item 7). Exit codes: 2 for a usage, configuration or environment error that
stops the command, 1 for a run whose benchmark failed (recorded in results.json)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeperf.bundled import bundled_samples

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "edgeperf.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO / "host"), COLUMNS="250", **(env or {})),
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def _dataset(root: Path, bench: str, count: int, edit: Callable[[bytes], bytes] = lambda raw: raw) -> Path:
    """The first `count` bundled files of `bench`, with `edit` applied to the bytes of y_labels.csv."""
    source = bundled_samples() / bench
    lines = (source / "y_labels.csv").read_bytes().splitlines(keepends=True)[:count]
    (root / bench).mkdir(parents=True)
    for line in lines:
        name = line.decode().split(",")[0]
        (root / bench / name).symlink_to(source / name)
    (root / bench / "y_labels.csv").write_bytes(edit(b"".join(lines)))
    return root


def _ad01_window_column(raw: bytes) -> bytes:
    first, *rest = raw.splitlines(keepends=True)
    fields = first.split(b",")
    fields[3] = b"2560x"
    return b",".join(fields) + b"".join(rest)


DATASET_CASES = [
    ("kws01", lambda raw: raw + b"tst_\xff.bin,12,1\n", 3, "not UTF-8 text (byte 0xff)"),
    ("kws01", lambda raw: b"\xef\xbb\xbf" + raw, 0, "Results:"),  # a byte-order mark is accepted
    ("ad01", _ad01_window_column, 3, "bytes_to_send and stride must be integers"),
]


@pytest.mark.parametrize("bench, edit, code, message", DATASET_CASES, ids=["not-utf8", "bom", "ad01-window"])
def test_a_bad_label_file(tmp_path, bench, edit, code, message):
    dataset = _dataset(tmp_path / "data", bench, 2, edit)
    got, out = _cli("run", "-b", bench, "--quick", "--sim-time-scale", "0", "--dataset", str(dataset), "--results",
                    str(tmp_path / "res"), cwd=tmp_path)
    assert got == code, out
    assert message in out and "Traceback" not in out


@pytest.mark.parametrize("where, message", [
    ("a-file", "is a file, not a folder"),
    ("a-file/below", "cannot create the results folder"),
    ("/proc/edgeperf/results", "cannot create the results folder"),
])
def test_a_results_path_that_cannot_be_a_folder(tmp_path, where, message):
    (tmp_path / "a-file").write_text("not a folder")
    got, out = _cli("run", "-b", "kws01", "--quick", "--sim-time-scale", "0", "--results", where, cwd=tmp_path)
    assert got == 3, out
    assert message in out and "Traceback" not in out


def _edited(document: dict, how: str) -> object:
    edited = copy.deepcopy(document)
    performance = edited["runs"][0]["performance"]
    if how == "string median":
        performance["median_throughput"]["value"] = "fast"
    elif how == "null windows":
        performance["windows"] = None
    elif how == "NaN":
        performance["windows"][0]["throughput"] = float("nan")
    elif how == "no runs":
        del edited["runs"]
    elif how == "a list":
        return [edited]
    elif how == "runs of strings":
        edited["runs"] = ["kws01"]
    elif how == "no median":
        del performance["median_throughput"]
        del performance["windows"]
    return edited


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("finished") / "res"
    got, out = _cli("run", "-b", "kws01", "--quick", "--sim-time-scale", "0", "--results", str(folder),
                    cwd=folder.parent)
    assert got == 0, out
    return folder


EDITS = ["string median", "null windows", "NaN", "no runs", "a list", "runs of strings", "no median"]


@pytest.mark.parametrize("how", EDITS)
@pytest.mark.parametrize("command", ["report", "compare"])
def test_a_hand_edited_results_file(tmp_path, finished, command, how):
    folder = tmp_path / "edited"
    shutil.copytree(finished, folder)
    document = json.loads((finished / "results.json").read_text())
    (folder / "results.json").write_text(json.dumps(_edited(document, how)))
    args = [command, str(folder)] if command == "report" else [command, str(finished), str(folder), "--fail-above", "5"]
    got, out = _cli(*args, cwd=tmp_path)
    assert "Traceback" not in out, out
    assert got == 3 and ("edited or damaged" in out or "not an edgeperf results file" in out), out


def test_a_bad_agent_listen_address(tmp_path):
    got, out = _cli("agent", "--model", str(REPO / "models" / "kws01.tflite"), "--listen", "tcp:127.0.0.1:99999",
                    cwd=tmp_path, timeout=60)
    assert got == 3 and "Traceback" not in out and len(out.strip().splitlines()) == 1, out


@pytest.fixture
def boards(tmp_path) -> Path:
    """A copy of the board registry with one description that is not UTF-8."""
    root = tmp_path / "boards"
    shutil.copytree(REPO / "boards", root, symlinks=True)
    (root / "broken").mkdir()
    (root / "broken" / "board.toml").write_bytes(b'name = "broken"\ntitle = "caf\xe9"\n')
    return root


def test_a_board_description_that_is_not_utf8(tmp_path, boards):
    got, out = _cli("run", "-b", "kws01", "--board", "broken", "--port", "socket://127.0.0.1:9", "--quick",
                    "--results", str(tmp_path / "res"), cwd=tmp_path, env={"EDGEPERF_BOARDS": str(boards)})
    assert got == 3 and "not UTF-8 text" in out and "Traceback" not in out, out


def test_a_broken_unrelated_board_description_blocks_nothing(tmp_path, boards, start_board):
    board = start_board("kws01")
    got, out = _cli("run", "-b", "kws01", "--board", "virtual", "--port", board.url, "--quick", "--results",
                    str(tmp_path / "res"), cwd=tmp_path, env={"EDGEPERF_BOARDS": str(boards)})
    assert got == 0 and "not UTF-8" not in out, out


def test_a_journal_damaged_in_the_middle_is_refused_and_kept(tmp_path):
    results = tmp_path / "res"
    got, out = _cli("run", "--mode", "accuracy", "-b", "kws01", "--sim-time-scale", "0", "--dataset",
                    str(_dataset(tmp_path / "data", "kws01", 6)), "--results", str(results), cwd=tmp_path)
    assert got == 0, out
    journal = results / "kws01" / "accuracy" / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"file"', b'"fi\xffle"')
    journal.write_bytes(b"".join(lines[:-1]))  # the last sample "lost": the run has something left to resume
    document = json.loads((results / "results.json").read_text())
    document["runs"] = []
    (results / "results.json").write_text(json.dumps(document))
    got, out = _cli("run", "--resume", str(results), cwd=tmp_path)
    assert got == 3 and "Traceback" not in out, out
    assert "line 3 is damaged" in json.loads((results / "results.json").read_text())["runs"][0]["error"]
    assert journal.read_bytes() == b"".join(lines[:-1])


def _small_disk(path: Path, size: str) -> bool:
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("size", ["64k", "12k"])
def test_a_full_disk_stops_the_run_saying_what_is_kept(tmp_path, size):
    """A 64 kB disk fills mid-run (in a journal or a device log), a 12 kB one almost at once."""
    disk = tmp_path / "disk"
    if not _small_disk(disk, size):
        pytest.skip("mounting a small tmpfs needs root (or CAP_SYS_ADMIN); this machine cannot")
    try:
        got, out = _cli("run", "--mode", "accuracy", "-b", "kws01", "-b", "ic01", "--sim-time-scale", "0",
                        "--results", str(disk / "res"), cwd=tmp_path)
        assert got == 3 and "Traceback" not in out, out
        assert "No space left on device" in out and "what was written before is kept" in out, out
        json.loads((disk / "res" / "results.json").read_text())  # the last complete version, never half a file
    finally:
        subprocess.run(["umount", str(disk)], check=False)
