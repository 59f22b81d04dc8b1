"""Firmware speed: instructions per inference of the TFLite Micro images in QEMU, by build.

Builds the QEMU mps2-an386 (Cortex-M4) TFLM images of kws01 and ic01 three ways -- reference
kernels at -O0 and at -O2, and CMSIS-NN kernels at -O2 when a CMSIS-NN tree is given -- runs each
in QEMU and prints the instructions one inference takes, with the ratios between builds. QEMU runs
with `-icount shift=S` (host/edgeperf/sim/qemu.py), so the board's microsecond counter advances
2^S ns per instruction and instructions = us * 1000 / 2^S: an instruction count, not a cycle count.
It also prints the sum of the `layers` operator times against the window and the arena each image
states (`m-ext-[arena-used-bytes=N]`).

Needs TFLM trees made by tflite-micro's create_tflm_tree.py (firmware/runners/tflm/README.md):

    EDGEPERF_TFLM_DIR=/work/tflm-tree [EDGEPERF_TFLM_CMSIS_DIR=/work/tflm-tree-cmsis] \\
        python benchmarks/firmware_speed.py [--models kws01 ic01] [--iterations 3] [--build-root DIR] [-j 2]

Without EDGEPERF_TFLM_DIR it says what to set and exits 2. Build directories are kept under
--build-root (default: <tmp>/edgeperf-firmware-speed), so a second run only re-measures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from edgeperf.benchmarks import get_benchmark  # noqa: E402
from edgeperf.dut import DutSession  # noqa: E402
from edgeperf.links import open_link  # noqa: E402
from edgeperf.protocol.extensions import arena_used_bytes, extensions, tflm_build  # noqa: E402
from edgeperf.sim.qemu import ICOUNT_SHIFT, QEMU_BOARDS, QemuProcess  # noqa: E402

BOARD = QEMU_BOARDS["qemu-mps2-an386"]
TOOLCHAIN = ROOT / "firmware" / "cmake" / "arm-none-eabi.cmake"


@dataclass(frozen=True)
class Build:
    name: str
    tree: Path
    kernels: str
    opt: str

    @property
    def folder(self) -> str:
        return f"{self.kernels}{self.opt}"


@dataclass(frozen=True)
class Measurement:
    us_per_inference: float
    instructions: float
    layers_us: int
    window_us: int
    arena: int | None
    facts: dict[str, str | None] | None


def builds(tree: Path, cmsis_tree: Path | None) -> list[Build]:
    found = [Build("reference -O0", tree, "reference", "-O0"), Build("reference -O2", tree, "reference", "-O2")]
    if cmsis_tree is not None:
        found.append(Build("cmsis_nn -O2", cmsis_tree, "cmsis_nn", "-O2"))
    return found


def build_images(build: Build, models: list[str], root: Path, jobs: int) -> Path:
    out = root / build.folder
    configure = ["cmake", "-S", str(ROOT / "firmware"), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DEE_BOARD={BOARD.name}", f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}", f"-DEE_TFLM_DIR={build.tree}",
                 f"-DEE_TFLM_KERNELS={build.kernels}", f"-DEE_TFLM_OPT={build.opt}", f"-DEE_MODELS={';'.join(models)}"]
    targets = [f"{BOARD.name}-{m}-tflm.elf" for m in models]
    for cmd in (configure, ["cmake", "--build", str(out), "-j", str(jobs), "--target", *targets]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return out


def measure(elf: Path, model: str, iterations: int) -> Measurement:
    size = get_benchmark(model).input_bytes
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    with QemuProcess(BOARD, elf) as qemu:
        shift = qemu.icount_shift
        session = DutSession(open_link(qemu.url))
        try:
            identity = session.identify()
            if identity.model != model:
                sys.exit(f"{elf} says it is {identity.model}, not {model}")
            ext = extensions(session.client.profile_lines)
            session.upload(data)
            reply = session.infer(iterations, 1, timeout=600)
            layers = session.layers()
        finally:
            session.link.close()
    us = reply.elapsed_us / iterations
    return Measurement(us, us * 1000 / 2 ** shift, sum(l.total_us for l in layers.layers),
                       reply.elapsed_us, arena_used_bytes(ext), tflm_build(ext))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["kws01", "ic01"])
    parser.add_argument("--iterations", type=int, default=3, help="timed inferences per measurement")
    parser.add_argument("--build-root", type=Path, default=Path(tempfile.gettempdir()) / "edgeperf-firmware-speed")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel compile jobs")
    args = parser.parse_args()
    tree = os.environ.get("EDGEPERF_TFLM_DIR", "")
    if not tree or not (Path(tree) / "tensorflow" / "lite" / "micro").is_dir():
        print("set EDGEPERF_TFLM_DIR to a TFLM tree made by create_tflm_tree.py (reference kernels), and optionally "
              "EDGEPERF_TFLM_CMSIS_DIR to one made with OPTIMIZED_KERNEL_DIR=cmsis_nn; see "
              "firmware/runners/tflm/README.md", file=sys.stderr)
        return 2
    cmsis = os.environ.get("EDGEPERF_TFLM_CMSIS_DIR", "")
    cmsis_tree = Path(cmsis) if cmsis else None
    if cmsis_tree is not None and not (cmsis_tree / "tensorflow" / "lite" / "micro" / "kernels" / "cmsis_nn").is_dir():
        print(f"EDGEPERF_TFLM_CMSIS_DIR={cmsis} has no tensorflow/lite/micro/kernels/cmsis_nn", file=sys.stderr)
        return 2
    results: dict[tuple[str, str], Measurement] = {}
    for build in builds(Path(tree), cmsis_tree):
        out = build_images(build, args.models, args.build_root, args.jobs)
        for model in args.models:
            m = measure(out / f"{BOARD.name}-{model}-tflm.elf", model, args.iterations)
            results[(build.name, model)] = m
            facts = m.facts or {}
            print(f"{model:6} {build.name:14} {m.instructions:14,.0f} instructions/inference "
                  f"({m.us_per_inference:,.1f} emulated us); layers sum {m.layers_us} of {m.window_us} us "
                  f"({100 * m.layers_us / m.window_us:.1f} %); arena {m.arena} B; "
                  f"tflm-kernels={facts.get('kernels')} tflm-commit={facts.get('commit')}", flush=True)
    print(f"\nemulated instructions per inference (QEMU -icount shift={ICOUNT_SHIFT})")
    names = [b.name for b in builds(Path(tree), cmsis_tree)]
    print(f"{'model':6} " + " ".join(f"{n:>16}" for n in names) + "  ratios")
    for model in args.models:
        row = [results[(n, model)].instructions for n in names]
        ratios = [f"O0/O2 {row[0] / row[1]:.2f}"]
        if len(row) > 2:
            ratios += [f"ref-O2/cmsis-O2 {row[1] / row[2]:.2f}", f"ref-O0/cmsis-O2 {row[0] / row[2]:.2f}"]
        print(f"{model:6} " + " ".join(f"{v:16,.0f}" for v in row) + "  " + ", ".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
