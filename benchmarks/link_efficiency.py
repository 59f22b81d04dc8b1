"""Link efficiency of the EEMBC ASCII upload: payload bytes/s over the link's raw bytes/s.

Starts a virtual board that paces its UART like real hardware, uploads one input with
the host's normal DUT session, and prints the measured ratio. Raw bytes/s is baud/10
(8N1: ten bit times per byte).

    python benchmarks/link_efficiency.py [--benchmark vww01] [--baud 115200] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgeperf.benchmarks import get_benchmark  # noqa: E402
from edgeperf.bundled import bundled_model  # noqa: E402
from edgeperf.dut import DutSession  # noqa: E402
from edgeperf.links import open_link  # noqa: E402
from edgeperf.sim.launcher import VirtualBoardProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="vww01")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    bench = get_benchmark(args.benchmark)
    payload = os.urandom(bench.input_bytes)
    with VirtualBoardProcess(model=bundled_model(bench.name), profile=bench.name, baud=args.baud,
                             time_scale=0.0) as board:
        link = open_link(board.url, args.baud)
        try:
            session = DutSession(link)
            session.identify()
            start = time.monotonic()
            for _ in range(args.repeats):
                session.upload(payload)
            seconds = time.monotonic() - start
        finally:
            link.close()
    payload_rate = len(payload) * args.repeats / seconds
    raw_rate = args.baud / 10
    print(f"protocol: EEMBC ASCII (db hex, {session.chunk_bytes} B per command, m-ready handshake)")
    print(f"input: {bench.name}, {len(payload)} B x {args.repeats}; link {args.baud} baud 8N1 = {raw_rate:.0f} raw B/s")
    print(f"upload time: {seconds:.3f} s; payload rate: {payload_rate:.1f} B/s")
    print(f"link efficiency (payload B/s / raw B/s): {payload_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
