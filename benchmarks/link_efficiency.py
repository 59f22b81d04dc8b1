"""Link efficiency of uploads: payload bytes/s over the link's raw bytes/s, ASCII and binary.

Starts a virtual board that paces its UART like real hardware (and speaks the binary protocol,
`--binary`), uploads one input with the host's EEMBC ASCII session (hex `db` chunks, m-ready
handshake) and then with the binary protocol (4 KiB COBS frames, one acknowledgement each), and
prints both ratios per baud rate. Raw bytes/s is baud/10 (8N1: ten bit times per byte).

    python benchmarks/link_efficiency.py [--benchmark vww01] [--baud 115200 --baud 921600] [--repeats 1]
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
from edgeperf.protocol.binary import BinaryClient, switch_to_binary  # noqa: E402
from edgeperf.sim.launcher import VirtualBoardProcess  # noqa: E402


def measure(bench_name: str, baud: int, repeats: int) -> tuple[float, float, int]:
    """(ASCII payload B/s, binary payload B/s, retransmissions) for one baud rate."""
    bench = get_benchmark(bench_name)
    payload = os.urandom(bench.input_bytes)
    with VirtualBoardProcess(model=bundled_model(bench.name), profile=bench.name, baud=baud, time_scale=0.0,
                             extra_args=["--binary"]) as board:
        link = open_link(board.url, baud)
        try:
            session = DutSession(link, binary=False)  # the ASCII figure: hex uploads only
            session.identify()
            start = time.monotonic()
            for _ in range(repeats):
                session.upload(payload)
            ascii_rate = len(payload) * repeats / (time.monotonic() - start)
            if not switch_to_binary(session.client.command):
                raise SystemExit("the virtual board did not switch to the binary protocol")
            client = BinaryClient(link, session.log)
            client.hello()
            start = time.monotonic()
            for _ in range(repeats):
                client.upload(payload)
            binary_rate = len(payload) * repeats / (time.monotonic() - start)
            client.exit()
        finally:
            link.close()
    return ascii_rate, binary_rate, client.retransmissions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="vww01")
    parser.add_argument("--baud", type=int, action="append", help="repeatable (default: 115200 and 921600)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    bench = get_benchmark(args.benchmark)
    print(f"input: {bench.name}, {bench.input_bytes} B x {args.repeats}, against the virtual board (paced UART, 8N1)")
    print("ASCII: EEMBC db hex, 38 B per command, m-ready handshake; "
          "binary: edgeperf binary v1, 4096 B COBS frames, one ACK each")
    print(f"{'baud':>8} {'raw B/s':>9} {'ASCII B/s':>10} {'ASCII eff.':>10} {'binary B/s':>11} {'binary eff.':>11}")
    for baud in args.baud or [115200, 921600]:
        ascii_rate, binary_rate, retransmissions = measure(bench.name, baud, args.repeats)
        raw = baud / 10
        print(f"{baud:>8} {raw:>9.0f} {ascii_rate:>10.1f} {ascii_rate / raw:>10.3f} {binary_rate:>11.1f} "
              f"{binary_rate / raw:>11.3f}" + (f"  ({retransmissions} retransmissions)" if retransmissions else ""))
    print("link efficiency = payload B/s / raw B/s")


if __name__ == "__main__":
    main()
