"""A deterministic cost model of a Cortex-M class MCU running TFLite Micro with optimised int8 kernels.

Device time per inference = sum over operators of cycles(op) / clock, where

    cycles(op) = MACs x cycles_per_mac[kind] + out_elements x cycles_per_output + cycles_per_op

and `kind` is pointwise CONV_2D (1x1), spatial CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED.
The per-output term stands for requantisation and memory traffic, which is why a model with
large activations (vww01) costs more per MAC than one with small activations (ic01).

The defaults were fitted (least squares on relative error) to the published TFLite Micro
v2.3.1 + CMSIS-NN reference on the NUCLEO-L4R5ZI at 120 MHz, using the op lists of the
official MLPerf Tiny models. They give: kws01 193 ms (published 181.9), vww01 557 ms
(600.6), ic01 702 ms (704.2), ad01 10.1 ms (10.05). It is a model, not a cycle-accurate
simulation: it is reproducible and proportional to the work, which is what a virtual
board needs to exercise the run rules.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError
from ..modelinfo import ModelInfo, OpInfo


@dataclass(frozen=True)
class CostModel:
    clock_mhz: float = 120.0
    cycles_per_mac: dict[str, float] = field(default_factory=lambda: {
        "CONV_2D_1x1": 8.2,
        "CONV_2D": 6.5,
        "DEPTHWISE_CONV_2D": 8.8,
        "FULLY_CONNECTED": 4.4,
    })
    cycles_per_output: float = 24.6
    cycles_per_op: float = 2000.0

    @classmethod
    def from_json(cls, path: Path, clock_mhz: float | None = None) -> CostModel:
        """Load overrides from a JSON object with any of this class's fields."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read cost model {path}: {exc}") from exc
        unknown = set(data) - set(asdict(cls()))
        if unknown:
            raise ConfigError(f"{path}: unknown cost-model keys {sorted(unknown)}")
        base = cls()
        if "cycles_per_mac" in data:
            data["cycles_per_mac"] = {**base.cycles_per_mac, **data["cycles_per_mac"]}
        model = replace(base, **data)
        return replace(model, clock_mhz=clock_mhz) if clock_mhz is not None else model

    def op_cycles(self, op: OpInfo) -> float:
        kind = "CONV_2D_1x1" if op.name == "CONV_2D" and op.kernel_area == 1 else op.name
        return op.macs * self.cycles_per_mac.get(kind, 0.0) + op.out_elements * self.cycles_per_output + self.cycles_per_op

    def cycles(self, model: ModelInfo) -> float:
        return sum(self.op_cycles(op) for op in model.ops)

    def latency_us(self, model: ModelInfo) -> float:
        """Modelled device time of one inference, in microseconds."""
        if self.clock_mhz <= 0:
            raise ConfigError("clock must be positive")
        return self.cycles(model) / self.clock_mhz

    def breakdown(self, model: ModelInfo) -> list[tuple[str, float]]:
        """Per-operator device time in microseconds, in execution order."""
        return [(op.name, self.op_cycles(op) / self.clock_mhz) for op in model.ops]
