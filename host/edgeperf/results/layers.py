"""The per-operator profile of a run: its record, the rows every view prints, and a layer-by-layer diff.

The board times each operator with its own counter (protocols/extensions, `layers`); the host adds
what only the model file knows: output shapes and MACs (`modelinfo`). MACs per cycle need the core
clock, which the board's description gives; without it that column is left empty, never guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.table import Table

from .schema import Document

#: A layer profile whose operator times miss the loop's latency by more than this is flagged.
SUM_TOLERANCE = 0.01


@dataclass(frozen=True)
class Layer:
    """One operator: the board's time for one inference (mean over the loop) and what the model says of it."""

    index: int
    op: str
    us: float
    out_shape: list[int] | None = None
    #: Multiply-accumulates of one inference (conv, depthwise conv, fully connected); None: not computed.
    macs: int | None = None


@dataclass
class LayerProfile:
    """`layers` after one timed loop of `iterations` inferences, and that loop's own latency."""

    iterations: int
    #: (t1 - t0) / iterations of the window the operator times come from.
    loop_latency_us: float
    layers: list[Layer] = field(default_factory=list)
    #: Operators the board ran but could not record (its table was full): the sum is then partial.
    unrecorded: int = 0
    #: Why shapes and MACs are missing, when they are (no model file, or its operators differ).
    note: str | None = None
    #: The performance window the times come from (the median one).
    window: int | None = None

    @property
    def sum_us(self) -> float:
        return sum(layer.us for layer in self.layers)

    @property
    def sum_matches(self) -> bool:
        """Do the operator times add up to the loop's latency (within SUM_TOLERANCE)?"""
        return self.loop_latency_us > 0 and abs(self.sum_us / self.loop_latency_us - 1) <= SUM_TOLERANCE

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "unit": "us per inference", "sum_us": self.sum_us, "sum_matches": self.sum_matches}


@dataclass(frozen=True)
class LayerRow:
    """What a table shows of one operator."""

    index: int
    op: str
    shape: str
    us: float
    percent: float
    macs_per_cycle: float | None


def layer_rows(profile: Document, clock_mhz: float | None) -> list[LayerRow]:
    """A recorded profile (results.json) as table rows; MACs/cycle only where MACs and the clock are known."""
    total = float(profile["sum_us"]) or 1.0
    rows = []
    for layer in profile["layers"]:
        us, macs = float(layer["us"]), layer.get("macs")
        per_cycle = macs / (us * clock_mhz) if macs and clock_mhz and us > 0 else None
        shape = "x".join(str(d) for d in layer["out_shape"]) if layer.get("out_shape") else "-"
        rows.append(LayerRow(int(layer["index"]), str(layer["op"]), shape, us, 100 * us / total, per_cycle))
    return rows


def profile_of(run: Document) -> Document | None:
    """The layer profile a run recorded, if any."""
    perf = run.get("performance")
    return perf.get("layers") if isinstance(perf, dict) else None


def profile_lines(run: Document) -> list[str]:
    """The profile as plain text (results.txt)."""
    profile = profile_of(run)
    if not profile:
        return []
    clock = run.get("board", {}).get("clock_mhz")
    head = (f"  Per-layer profile ({profile['iterations']} inferences; sum {profile['sum_us'] / 1000:.3f} ms, "
            f"loop latency {profile['loop_latency_us'] / 1000:.3f} ms):")
    out = [head.replace("Per-layer profile (", f"Per-layer profile (window {profile.get('window')}, ")]
    for row in layer_rows(profile, clock):
        mpc = f"{row.macs_per_cycle:6.2f} MACs/cycle" if row.macs_per_cycle is not None else ""
        out.append(f"    {row.index:3d} {row.op:<20} {row.shape:<14} {row.us:12.1f} us {row.percent:6.2f} % {mpc}")
    if profile.get("note"):
        out.append(f"    note: {profile['note']}")
    return out


@dataclass(frozen=True)
class LayerDiff:
    """One operator in two profiles."""

    index: int
    op: str
    before_us: float | None
    after_us: float | None

    @property
    def change(self) -> float | None:
        """Relative change of the time, None when the operator is missing from one side."""
        if self.before_us is None or self.after_us is None or self.before_us <= 0:
            return None
        return self.after_us / self.before_us - 1


def diff_layers(before: Document, after: Document) -> list[LayerDiff]:
    """Two profiles side by side by operator index; an operator whose type differs is shown as two rows."""
    a = {int(x["index"]): x for x in before["layers"]}
    b = {int(x["index"]): x for x in after["layers"]}
    rows: list[LayerDiff] = []
    for index in sorted(set(a) | set(b)):
        x, y = a.get(index), b.get(index)
        if x is not None and y is not None and x["op"] == y["op"]:
            rows.append(LayerDiff(index, str(x["op"]), float(x["us"]), float(y["us"])))
            continue
        if x is not None:
            rows.append(LayerDiff(index, str(x["op"]), float(x["us"]), None))
        if y is not None:
            rows.append(LayerDiff(index, str(y["op"]), None, float(y["us"])))
    return rows


def print_profiles(console: Console, document: Document) -> None:
    """Every run's per-layer table and memory footprint, as `edgeperf profile` shows them."""
    for run in document["runs"]:
        profile = profile_of(run)
        board = run.get("board", {})
        if profile:
            console.print(layer_table(run["benchmark"], profile, board.get("clock_mhz"), board.get("timing_note")))
            latency = run["performance"]["latency"]["value"]
            console.print(f"{run['benchmark']}: operator sum {profile['sum_us'] / 1000:.3f} ms per inference = "
                          f"{100 * profile['sum_us'] / 1000 / latency:.2f} % of the run's latency ({latency:.3f} ms, "
                          f"1000 / median throughput; the profile is window {profile.get('window')}'s)", markup=False,
                          highlight=False, soft_wrap=True)
            if profile.get("note"):
                console.print(f"note: {profile['note']}", markup=False, highlight=False)
        elif not run.get("error"):
            console.print(f"{run['benchmark']}: no per-layer profile (the board does not announce "
                          "m-ext-[edgeperf-layers-1])", markup=False, highlight=False)
        for line in memory_lines(run.get("memory")):
            console.print(f"{run['benchmark']}: {line}", markup=False, highlight=False, soft_wrap=True)


def layer_table(benchmark: str, profile: Document, clock_mhz: float | None, timing_note: str | None) -> Table:
    """One profile as a rich table whose last row is the sum against the loop's latency."""
    title = f"{benchmark}: per-layer profile (window {profile.get('window')}, {profile['iterations']} inferences)"
    table = Table(title=title, caption=timing_note)
    for column in ("#", "operator", "output shape", "us", "% of total", "MACs/cycle"):
        table.add_column(column, justify="right" if column not in ("operator", "output shape") else "left")
    for row in layer_rows(profile, clock_mhz):
        table.add_row(str(row.index), row.op, row.shape, f"{row.us:.1f}", f"{row.percent:.2f}",
                      f"{row.macs_per_cycle:.2f}" if row.macs_per_cycle is not None else "-")
    latency = float(profile["loop_latency_us"])
    share = 100 * float(profile["sum_us"]) / latency if latency else 0.0
    table.add_row("", "sum", "", f"{profile['sum_us']:.1f}", f"{share:.2f} of latency",
                  f"latency {latency:.1f} us", style="bold" if profile.get("sum_matches") else "bold red")
    return table


def memory_lines(memory: Document | None) -> list[str]:
    """The memory footprint in words: flash and RAM of the image (when its ELF is known) and the arena."""
    if not memory:
        return []
    out = []
    if memory.get("flash_bytes") is not None:
        out.append(f"firmware image {memory['elf']}: flash {memory['flash_bytes']} B (.text+.rodata+.data), "
                   f"RAM {memory['ram_bytes']} B (.data+.bss)")
    arena = memory.get("arena_used_bytes")
    out.append(f"tensor arena used: {arena} B ({memory.get('arena_source')})" if arena is not None
               else f"tensor arena used: unknown ({memory.get('arena_source')})")
    return out


def layer_diff_tables(documents: list[Document]) -> list[Table]:
    """For each benchmark profiled in the first document and a later one: its operators side by side."""
    tables = []
    first = {run["benchmark"]: profile_of(run) for run in documents[0]["runs"]}
    for number, document in enumerate(documents[1:], start=2):
        for run in document["runs"]:
            before, after = first.get(run["benchmark"]), profile_of(run)
            if not before or not after:
                continue
            table = Table(title=f"{run['benchmark']}: per-layer profile, run 1 -> run {number}")
            for column in ("#", "operator", "run 1 us", f"run {number} us", "change"):
                table.add_column(column, justify="left" if column == "operator" else "right")
            for row in diff_layers(before, after):
                table.add_row(str(row.index), row.op, "-" if row.before_us is None else f"{row.before_us:.1f}",
                              "-" if row.after_us is None else f"{row.after_us:.1f}",
                              "-" if row.change is None else f"{100 * row.change:+.1f} %")
            tables.append(table)
    return tables
