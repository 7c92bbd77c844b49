"""The house rules of docs/architecture.md, checked: imports flow one way (a stage imports the shared
modules, never the other way round, and no stage imports another), and no import cycle exists."""

from __future__ import annotations

import ast

from tests.conftest import REPO

PACKAGE = REPO / "rlev_cli"
# Lower layers never import higher ones; a module may import its own package and anything below it.
LAYERS = {
    "base": {
        "errors",
        "output",
        "workspace",
        "settings",
        "prompts",
        "schema",
        "tiny",
        "models",
        "runs",
        "threads",
        "valuecheck",
        "__init__",
    },
    "shared": {"verify", "rewards", "generate"},
    "stage": {"ingest", "values", "train", "evaluate", "analysis"},
    "top": {"demo", "cli", "__main__"},
}
RANK = {name: rank for rank, names in enumerate(LAYERS.values()) for name in names}


def _modules() -> dict[str, set[str]]:
    """Every rlev_cli module and the rlev_cli modules it imports (module level and inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rlev_cli"):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("rlev_cli"))
        graph[name] = imported
    return graph


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    assert {_top(m) for m in _modules()} <= set(RANK)


def test_imports_flow_down_and_stages_stay_apart():
    upward = []
    for module, imported in _modules().items():
        for target in imported:
            here, there = _top(module), _top(target)
            if here == there:
                continue
            if RANK[there] > RANK[here] or (RANK[there] == RANK[here] == RANK["ingest"]):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_import_cycle():
    graph = _modules()
    packages = {m for m in graph if (PACKAGE / m.split(".", 1)[-1].replace(".", "/") / "__init__.py").exists()}

    def edges(module: str) -> set[str]:
        # importing `a.b.c` runs `a.b` first; a package's own __init__ importing its children is not a cycle
        return {t for t in graph.get(module, set()) if t in graph and t != module and not module.startswith(t + ".")}

    cycles, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges(module)):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert packages and cycles == []
