"""edgeperf: benchmark ML inference on microcontrollers the way MLPerf Tiny measures it."""

__version__ = "0.1.0"
