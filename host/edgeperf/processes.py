"""Child processes edgeperf starts (virtual boards, benches, QEMU, ser2net): how they are stopped."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, grace_seconds: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace_seconds`: a helper process never outlives its run."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
