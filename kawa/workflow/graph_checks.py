"""Structural checks of a DSL graph that need the whole graph: cycles and selectors pointing at missing nodes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kawa.workflow.errors import GraphCompileError
from kawa.workflow.template import template_selectors
from kawa.workflow.variable_pool import NAMESPACES

if TYPE_CHECKING:
    from kawa.workflow.graph import Edge, NodeSpec

# Fields holding source code or Jinja2, where `{{#` is not a Dify reference.
_OPAQUE_KEYS = frozenset({"code"})


def check_acyclic(members: Mapping[str, NodeSpec], edges: Sequence[Edge], path: str) -> None:
    out: dict[str, list[Edge]] = {}
    for edge in edges:
        out.setdefault(edge.source, []).append(edge)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for start in members:
        if start in state:
            continue
        stack: list[tuple[str, Iterator[Edge]]] = [(start, iter(out.get(start, ())))]
        trail = [start]
        state[start] = 1
        while stack:
            node_id, pending = stack[-1]
            next_edge = next(pending, None)
            if next_edge is None:
                stack.pop()
                trail.pop()
                state[node_id] = 2
                continue
            edge = next_edge
            seen = state.get(edge.target)
            if seen == 1:
                loop = [*trail[trail.index(edge.target) :], edge.target]
                raise GraphCompileError(
                    f"{path}.edges[{edge.index}]",
                    f"cycle {' -> '.join(loop)}; only iteration and loop nodes may repeat nodes",
                )
            if seen is None:
                state[edge.target] = 1
                trail.append(edge.target)
                stack.append((edge.target, iter(out.get(edge.target, ()))))


def check_selectors(specs: Mapping[str, NodeSpec], raw_nodes: Sequence[Any], path: str) -> None:
    for spec in specs.values():
        at = f"{path}.nodes[{spec.index}].data"
        for sub, selector in _selectors_in(raw_nodes[spec.index]["data"], ""):
            _check_one(selector, specs, f"{at}{sub}")
        for sub, selector in spec.node.extra_selectors():
            _check_one(selector, specs, f"{at}.{sub}" if not sub.startswith("[") else f"{at}{sub}")


def _check_one(selector: Sequence[Any], specs: Mapping[str, NodeSpec], at: str) -> None:
    if not selector:
        return
    head = selector[0]
    if head in NAMESPACES or head in specs:
        return
    shown = ".".join(str(s) for s in selector)
    raise GraphCompileError(at, f"'{shown}' references node '{head}', which is not in the graph")


def _selectors_in(value: Any, sub: str, key: str = "") -> Iterator[tuple[str, Sequence[Any]]]:
    if isinstance(value, Mapping):
        if value.get("enabled") is False:
            return  # a switched-off feature (llm context, vision) may keep a stale selector, as Dify allows
        for k, v in value.items():
            if k not in _OPAQUE_KEYS:
                yield from _selectors_in(v, f"{sub}.{k}", str(k))
    elif isinstance(value, list):
        if key.endswith("selector") and value and all(isinstance(v, str) for v in value):
            yield sub, value
            return
        for i, item in enumerate(value):
            yield from _selectors_in(item, f"{sub}[{i}]", "")
    elif isinstance(value, str) and "{{#" in value:
        for selector in template_selectors(value):
            yield sub, selector
