"""The layering of `kawa/`: every import goes downward, siblings of one layer stay independent, no package cycles.

Read from the source with `ast` (imports inside functions and under `TYPE_CHECKING` count too: a type is a
dependency). The layers, top to bottom (`|` separates independent siblings):

    kawa.cli                                the command line (it serves the HTTP app)
    kawa.api | kawa.web                     transport: HTTP only (the Service API | the console and WebApp)
    kawa.services                           composition, built once at start-up
    kawa.apps                               runners and app modes
    kawa.settings                           composes each package's own *Settings
    kawa.dsl | kawa.telemetry               an app export, checked with the workflow compiler | metrics, traces
                                            and logs, which watch the domain through its seams (observer, ports)
    kawa.workflow | kawa.knowledge          domain
    kawa.models | kawa.sandbox | kawa.net | kawa.tools | kawa.store   adapters
    kawa.files                              adapters: file storage and parsing (the store records uploads)
    kawa.errors
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

KAWA = Path(__file__).resolve().parent.parent / "kawa"

LAYERS: list[list[str]] = [
    ["cli"],
    ["api", "web"],
    ["services"],
    ["apps"],
    ["settings"],
    ["dsl", "telemetry"],
    ["workflow", "knowledge"],
    ["models", "sandbox", "net", "tools", "store"],
    ["files"],
    ["errors"],
]
LEVEL = {name: depth for depth, names in enumerate(LAYERS) for name in names}
# Modules of the transport layer may not touch ORM rows: repositories in kawa.store hand them typed records.
ORM_MODULES = ("kawa.store.tables", "kawa.store.knowledge_tables")


def _module_name(path: Path) -> str:
    parts = path.relative_to(KAWA.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    return (KAWA / name).is_dir() or (KAWA / f"{name}.py").is_file()


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every `kawa` import in one file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from kawa import store` names a package; `from kawa import __version__` an attribute.
            if module == "kawa":
                found += [(node.lineno, f"kawa.{alias.name}") for alias in node.names if _is_module(alias.name)]
    return [(line, name) for line, name in found if name == "kawa" or name.startswith("kawa.")]


def _top(module: str) -> str | None:
    """The layered unit a module belongs to (`kawa.apps.runners.x` → `apps`), or None for the `kawa` package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _all_imports() -> list[tuple[str, int, str]]:
    rows: list[tuple[str, int, str]] = []
    for path in sorted(KAWA.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = _module_name(path)
        rows += [(source, line, target) for line, target in _imports(path)]
    return rows


def test_every_package_of_kawa_has_a_layer() -> None:
    units = {_top(_module_name(path)) for path in KAWA.rglob("*.py") if "migrations" not in path.parts}
    assert units - {None} <= set(LEVEL), f"packages without a layer: {sorted(units - {None} - set(LEVEL))}"


def test_imports_go_downward_and_siblings_stay_independent() -> None:
    wrong: list[str] = []
    for source, line, target in _all_imports():
        here, there = _top(source), _top(target)
        if here is None or there is None or here == there:
            continue
        if LEVEL[there] <= LEVEL[here]:
            kind = "sibling" if LEVEL[there] == LEVEL[here] else "upward"
            wrong.append(f"{source}:{line} imports {target} ({kind}: {here} → {there})")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_http_layer_imports_no_orm_tables() -> None:
    wrong = [
        f"{source}:{line} imports {target}"
        for source, line, target in _all_imports()
        if _top(source) in {"api", "web", "cli"} and target.startswith(ORM_MODULES)
    ]
    assert not wrong, "transport code reaching ORM rows:\n" + "\n".join(wrong)


def test_no_import_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, _line, target in _all_imports():
        here, there = _top(source), _top(target)
        if here and there and here != there:
            graph[here].add(there)
    cycles = _cycles(graph)
    assert not cycles, f"package import cycles: {cycles}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert sorted(_cycles(graph)) == expected
