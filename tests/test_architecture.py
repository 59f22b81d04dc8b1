"""The layering rules of docs/architecture.md, checked on the source: layers only look down."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "host" / "edgeperf"
#: Outside the simulator, only these start a virtual board, bench or QEMU process, so only they may import it.
SIM_LAUNCHERS = {"edgeperf.targets", "edgeperf.qemu_targets", "edgeperf.cli"}
MAX_RULE_FUNCTION_LINES = 40


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every edgeperf module `path` imports, at any depth of the file (lazy imports included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("edgeperf")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("edgeperf"):
                found.add(target)
                found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_results_never_import_the_rules():
    for name, targets in graph().items():
        if name.startswith("edgeperf.results"):
            assert not [t for t in targets if t.startswith("edgeperf.rules")], name


def test_only_the_code_that_starts_a_virtual_peer_imports_the_simulator():
    for name, targets in graph().items():
        if name.startswith("edgeperf.sim") or name in SIM_LAUNCHERS:
            continue
        assert not [t for t in targets if t.startswith("edgeperf.sim")], name


def test_the_device_side_never_imports_the_simulator():
    for name, targets in graph().items():
        if name.startswith("edgeperf.device"):
            assert not [t for t in targets if t.startswith("edgeperf.sim")], name


def test_no_import_cycle():
    """Module-level and lazy imports alike; a package's __init__ importing its own modules is not a cycle."""
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph().items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_no_rule_function_is_longer_than_forty_lines():
    long = []
    for path in (PACKAGE / "rules").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_RULE_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long
