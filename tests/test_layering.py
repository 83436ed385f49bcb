"""Imports point one way: zoo -> analysis -> frame -> render -> cli, imports inside functions
counted (such an import only keeps torch out of a command that needs none, it never points up),
and no module imports itself through others (a cycle)."""

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
LAYERS = {"figures": 0, "errors": 0, "shown": 0, "zoo": 1, "analysis": 2, "frame": 3, "render": 4, "cli": 5,
          "__init__": 6, "__main__": 6}
"""Each top-level module or package of cnnstat and its layer; a module imports its own layer and
those below. figures, errors and shown are pure data every layer may use; the package's
``__init__`` (the public API, which registers the display) and ``__main__`` sit on top."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """cnnstat modules a module imports, anywhere in it (type-checking-only imports aside)."""
    found = set()
    checking = {id(node) for branch in ast.walk(tree) if isinstance(branch, ast.If)
                and ast.unparse(branch.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                for statement in branch.body for node in ast.walk(statement)}
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in checking:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return {module for module in found if module == "cnnstat" or module.startswith("cnnstat.")}


def graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in SOURCE.rglob("*.py")}
    edges = {}
    for name, path in paths.items():
        targets = imported(ast.parse(path.read_text()), name, path.name == "__init__.py")
        # "from cnnstat.analysis import records" names a module; "from cnnstat.figures import figure" a name in one
        edges[name] = {target if target in paths else target.rpartition(".")[0] for target in targets} - {name}
        edges[name] = {target for target in edges[name] if target in paths}
    return edges


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS["__init__" if len(parts) == 1 else parts[1]]


def test_every_import_points_down_or_across():
    upward = sorted(f"{source} -> {target}" for source, targets in graph().items() for target in targets
                    if layer(target) > layer(source) and target != "cnnstat")
    assert upward == []


def test_no_import_cycles():
    edges = graph()
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if target == "cnnstat":  # the package itself: importing any submodule runs it first
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []
