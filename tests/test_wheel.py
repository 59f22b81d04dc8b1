"""The package as a user gets it: a wheel built from this checkout, installed into a fresh venv, run from a folder
outside the checkout, finds its bundled models, sample sets, board descriptions and protocol vectors."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
#: What a wheel is built from: the package metadata, the sources and the folders it ships.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "host", "models", "boards", "protocols")


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only what the venv itself holds
    proc = subprocess.run(argv, cwd=cwd, env=dict(env, COLUMNS="200"), capture_output=True, text=True,
                          timeout=timeout, umask=0o022, check=False)
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding only the wheel; its dependencies are read from this interpreter's site-packages (a path
    appended after the venv's own, so nothing is downloaded and this env's edgeperf is never the one imported)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(REPO / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", ".", "-w", str(base / "dist"), "--no-deps", "-q",
          "--disable-pip-version-check"], cwd=source)
    (wheel,) = (base / "dist").glob("edgeperf-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    _run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)], cwd=base)
    site = Path(subprocess.check_output([str(venv / "bin" / "python"), "-c",
                                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "zz-edgeperf-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.rmtree(source)  # the installed package must not need its source
    return venv


def test_the_wheel_runs_kws01_outside_the_checkout(installed, tmp_path):
    """`edgeperf run -b kws01 --quick` from the wheel: the bundled model and samples come from the package."""
    proc = _run([str(installed / "bin" / "edgeperf"), "run", "-b", "kws01", "--quick", "--results", "res"],
                cwd=tmp_path)
    document = json.loads((tmp_path / "res" / "results.json").read_text())
    (run,) = document["runs"]
    assert not run.get("error"), run.get("error")
    assert run["performance"]["median_throughput"]["value"] > 0, proc.stdout
    site = str(installed)
    assert run["dataset"]["root"].startswith(site) and "_data" in run["dataset"]["root"], run["dataset"]
    assert run["model"]["path"].startswith(site), run["model"]
    # Results follow the umask: 0644 under the usual 022.
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "res").rglob("*") if p.is_file()}
    assert modes and set(modes.values()) == {0o644}, modes


def test_the_wheel_finds_every_shipped_folder_and_its_version(installed, tmp_path):
    code = ("import edgeperf, json; from edgeperf.resources import shipped_dir; from edgeperf.boards.registry import "
            "load_registry; print(json.dumps({'package': edgeperf.__file__, 'boards': sorted(load_registry()), "
            "'dirs': {n: str(shipped_dir(n)) for n in ('models', 'boards', 'protocols')}, "
            "'vectors': len(list((shipped_dir('protocols') / 'eembc' / 'vectors').glob('*.txt')))}))")
    found = json.loads(_run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path).stdout)
    assert found["package"].startswith(str(installed))
    assert all(path.startswith(str(installed)) for path in found["dirs"].values()), found["dirs"]
    assert {"virtual", "qemu-mps2-an386"} <= set(found["boards"]), found["boards"]
    assert found["vectors"] == len(list((REPO / "protocols" / "eembc" / "vectors").glob("*.txt")))
    version = _run([str(installed / "bin" / "edgeperf"), "--version"], cwd=tmp_path).stdout
    assert version.strip().startswith("edgeperf ") and version.split()[1][0].isdigit(), version
    listing = _run([str(installed / "bin" / "edgeperf"), "boards"], cwd=tmp_path).stdout
    assert "virtual" in listing, listing
    completion = _run([str(installed / "bin" / "edgeperf"), "completion", "bash"], cwd=tmp_path).stdout
    assert "_ARGCOMPLETE=1" in completion and "edgeperf" in completion
