"""Identity and unit convention of results.json (documented in docs/results-schema.md).

A measurement is either an object `{"value": ..., "unit": ...}` or a bare number whose key is
listed in UNITS, so a reader never has to guess a unit from a key's spelling.
"""

from typing import Any

SCHEMA = "edgeperf.results/1"

#: Unit of every bare numeric key that has one (counts such as `iterations` or `files` have none).
UNITS: dict[str, str] = {
    "t0_us": "us (device timer)",
    "t1_us": "us (device timer)",
    "elapsed_us": "us (device timer)",
    "seconds": "s (device timer)",
    "throughput": "inf/s (device timer)",
    "latency_us": "us (device timer)",
    "upload_seconds": "s (host clock)",
    "wall_seconds": "s (host clock)",
    "min_window_seconds": "s",
    "probe_min_seconds": "s",
    "probe_timeout_seconds": "s",
    "bytes": "B",
    "bytes_uploaded": "B",
    "baud": "bit/s",
    "clock_mhz": "MHz",
    "sim_time_scale": "host s per device s",
}

#: A results.json document, or one of its entries, as JSON gives it back.
Document = dict[str, Any]
