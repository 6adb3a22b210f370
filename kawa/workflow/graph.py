"""Compile a DSL graph (`{nodes, edges}`) into an immutable `Graph`, validating its structure with precise paths.

Compiled once per published workflow version and cached by the caller; runs share it. A container (iteration,
loop) holds its children as a nested `Graph` in `subgraphs`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kawa.workflow.errors import GRAPH_PATH, GraphCompileError
from kawa.workflow.graph_checks import check_acyclic, check_selectors
from kawa.workflow.nodes import DEFAULT_REGISTRY, NodeRegistry
from kawa.workflow.nodes.base import Node, NodeConfigError

CONTAINER_STARTS = {"iteration": "iteration-start", "loop": "loop-start"}
# Paths through more branch combinations than this stop being tracked for a response node (it then streams
# as soon as it is certain to run on any tracked path).
_MAX_PATHS = 256


@dataclass(frozen=True, slots=True)
class Edge:
    id: str
    source: str
    target: str
    source_handle: str
    index: int  # position in the DSL `edges` list


@dataclass(frozen=True, slots=True)
class NodeSpec:
    id: str
    type: str
    node: Node[Any]
    index: int  # position in the DSL `nodes` list
    parent_id: str | None

    @property
    def title(self) -> str:
        return str(self.node.data.title)


@dataclass(frozen=True)
class Graph:
    """One level of a workflow: the nodes reachable from `root_id` and their edges; children of containers live in
    `subgraphs[container_id]`."""

    root_id: str
    nodes: Mapping[str, NodeSpec]
    out_edges: Mapping[str, tuple[Edge, ...]]
    in_edges: Mapping[str, tuple[Edge, ...]]
    subgraphs: Mapping[str, Graph]
    # For each response node (answer/end): the sets of conditional edges, one per root->node path; its stream
    # starts once every edge of one set is taken.
    response_paths: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    # Breadth-first distance from the root, to order response streams that become ready together.
    depth: Mapping[str, int] = field(default_factory=dict)
    parent_id: str | None = None

    @property
    def root(self) -> NodeSpec:
        return self.nodes[self.root_id]


def compile_graph(graph: Mapping[str, Any], *, registry: NodeRegistry | None = None, path: str = GRAPH_PATH) -> Graph:
    """Validate and compile. Raises `GraphCompileError` (a `DslError`) whose `path` points into the document."""
    registry = registry or DEFAULT_REGISTRY
    raw_nodes = graph.get("nodes") or []
    raw_edges = graph.get("edges") or []
    if not isinstance(raw_nodes, list):
        raise GraphCompileError(f"{path}.nodes", "must be a list")
    if not isinstance(raw_edges, list):
        raise GraphCompileError(f"{path}.edges", "must be a list")

    specs = _parse_nodes(raw_nodes, registry, path)
    _check_parents(specs, path)
    edges = _parse_edges(raw_edges, specs, path)
    compiled = _build_level(None, specs, edges, path)
    check_selectors(specs, raw_nodes, path)
    return compiled


def _parse_nodes(raw_nodes: list[Any], registry: NodeRegistry, path: str) -> dict[str, NodeSpec]:
    specs: dict[str, NodeSpec] = {}
    for i, raw in enumerate(raw_nodes):
        at = f"{path}.nodes[{i}]"
        if not isinstance(raw, Mapping):
            raise GraphCompileError(at, "must be a mapping")
        data = raw.get("data")
        if raw.get("type") == "custom-note" or (isinstance(data, Mapping) and data.get("type") == ""):
            continue  # sticky note
        node_id = raw.get("id")
        if not isinstance(node_id, str) or not node_id:
            raise GraphCompileError(f"{at}.id", "a node needs a non-empty string id")
        if node_id in specs:
            raise GraphCompileError(f"{at}.id", f"duplicate node id '{node_id}'")
        if not isinstance(data, Mapping):
            raise GraphCompileError(f"{at}.data", "a node needs a data mapping")
        node_type = data.get("type")
        if not isinstance(node_type, str) or not node_type:
            raise GraphCompileError(f"{at}.data.type", "missing node type")
        node_class = registry.get(node_type)
        if node_class is None:
            raise GraphCompileError(f"{at}.data.type", f"unknown node type '{node_type}'")
        try:
            node = node_class.parse(node_id, data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
            raise GraphCompileError(f"{at}.data{loc}", first["msg"]) from None
        except NodeConfigError as exc:
            sub = f".{exc.path}" if exc.path and not exc.path.startswith("[") else exc.path
            raise GraphCompileError(f"{at}.data{sub}", exc.problem) from None
        specs[node_id] = NodeSpec(node_id, node_type, node, i, _parent_of(raw, data))
    return specs


def _parent_of(raw: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    parent = raw.get("parentId")
    if isinstance(parent, str) and parent:
        return parent
    if data.get("isInIteration") and data.get("iteration_id"):
        return str(data["iteration_id"])
    if data.get("isInLoop") and data.get("loop_id"):
        return str(data["loop_id"])
    return None


def _check_parents(specs: Mapping[str, NodeSpec], path: str) -> None:
    for spec in specs.values():
        if spec.parent_id is None:
            continue
        parent = specs.get(spec.parent_id)
        if parent is None:
            raise GraphCompileError(
                f"{path}.nodes[{spec.index}].parentId", f"parent node '{spec.parent_id}' is not in the graph"
            )
        if not parent.node.is_container:
            raise GraphCompileError(
                f"{path}.nodes[{spec.index}].parentId",
                f"parent node '{spec.parent_id}' is a {parent.type}, not an iteration or loop",
            )


def _parse_edges(raw_edges: list[Any], specs: Mapping[str, NodeSpec], path: str) -> list[Edge]:
    edges: list[Edge] = []
    for j, raw in enumerate(raw_edges):
        at = f"{path}.edges[{j}]"
        if not isinstance(raw, Mapping):
            raise GraphCompileError(at, "must be a mapping")
        for end in ("source", "target"):
            node_id = raw.get(end)
            if not isinstance(node_id, str) or not node_id:
                raise GraphCompileError(f"{at}.{end}", f"an edge needs a {end} node id")
            if node_id not in specs:
                raise GraphCompileError(f"{at}.{end}", f"edge {end} '{node_id}' is not a node of the graph")
        source, target = specs[raw["source"]], specs[raw["target"]]
        if source.parent_id != target.parent_id:
            raise GraphCompileError(at, f"edge from '{source.id}' to '{target.id}' crosses a container boundary")
        handle = raw.get("sourceHandle") or "source"
        edges.append(
            Edge(str(raw.get("id") or f"{source.id}-{handle}-{target.id}"), source.id, target.id, str(handle), j)
        )
    return edges


def _build_level(parent_id: str | None, specs: Mapping[str, NodeSpec], edges: list[Edge], path: str) -> Graph:
    members = {nid: s for nid, s in specs.items() if s.parent_id == parent_id}
    level_edges = [e for e in edges if e.source in members]
    root_id = _root_of(parent_id, specs, members, path)
    check_acyclic(members, level_edges, path)

    out_all: dict[str, list[Edge]] = {}
    for edge in level_edges:
        out_all.setdefault(edge.source, []).append(edge)
    reachable = _reachable(root_id, out_all)
    nodes = {nid: members[nid] for nid in members if nid in reachable}
    out_edges = {nid: tuple(out_all.get(nid, ())) for nid in nodes}
    in_lists: dict[str, list[Edge]] = {nid: [] for nid in nodes}
    for edge in level_edges:
        if edge.source in reachable:
            in_lists[edge.target].append(edge)
    in_edges = {nid: tuple(v) for nid, v in in_lists.items()}

    subgraphs = {nid: _build_level(nid, specs, edges, path) for nid, spec in nodes.items() if spec.node.is_container}
    return Graph(
        root_id=root_id,
        nodes=nodes,
        out_edges=out_edges,
        in_edges=in_edges,
        subgraphs=subgraphs,
        response_paths=_response_paths(root_id, nodes, out_edges),
        depth=_depths(root_id, out_edges),
        parent_id=parent_id,
    )


def _root_of(parent_id: str | None, specs: Mapping[str, NodeSpec], members: Mapping[str, NodeSpec], path: str) -> str:
    if parent_id is None:
        starts = [s for s in members.values() if s.type == "start"]
        if not starts:
            raise GraphCompileError(f"{path}.nodes", "the graph has no start node")
        if len(starts) > 1:
            raise GraphCompileError(
                f"{path}.nodes[{starts[1].index}].data.type", "the graph has more than one start node"
            )
        return starts[0].id
    container = specs[parent_id]
    at = f"{path}.nodes[{container.index}].data.start_node_id"
    start_id = getattr(container.node.data, "start_node_id", None)
    if start_id:
        if start_id not in members:
            raise GraphCompileError(at, f"start node '{start_id}' is not a child of '{parent_id}'")
        return str(start_id)
    wanted = CONTAINER_STARTS.get(container.type)
    for spec in members.values():
        if spec.type == wanted:
            return spec.id
    raise GraphCompileError(at, f"{container.type} '{parent_id}' has no start node")


def _reachable(root_id: str, out_edges: Mapping[str, list[Edge]]) -> set[str]:
    seen = {root_id}
    queue = deque([root_id])
    while queue:
        for edge in out_edges.get(queue.popleft(), ()):
            if edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def _depths(root_id: str, out_edges: Mapping[str, tuple[Edge, ...]]) -> dict[str, int]:
    depth = {root_id: 0}
    queue = deque([root_id])
    while queue:
        current = queue.popleft()
        for edge in out_edges.get(current, ()):
            if edge.target not in depth:
                depth[edge.target] = depth[current] + 1
                queue.append(edge.target)
    return depth


def _response_paths(
    root_id: str, nodes: Mapping[str, NodeSpec], out_edges: Mapping[str, tuple[Edge, ...]]
) -> dict[str, tuple[frozenset[str], ...]]:
    """Per response node, the conditional-edge sets of its root paths (a DAG walk in topological order)."""
    conditional: set[str] = set()
    for nid, edges in out_edges.items():
        spec = nodes[nid]
        if spec.node.data.error_strategy == "fail-branch" or any(e.source_handle != "source" for e in edges):
            conditional.update(e.id for e in edges)
    order = _topological(root_id, nodes, out_edges)
    paths: dict[str, set[frozenset[str]]] = {root_id: {frozenset()}}
    for nid in order:
        mine = paths.get(nid, set())
        for edge in out_edges.get(nid, ()):
            target = paths.setdefault(edge.target, set())
            for p in mine:
                if len(target) >= _MAX_PATHS:
                    break
                target.add(p | {edge.id} if edge.id in conditional else p)
    return {nid: tuple(paths.get(nid, ())) for nid, spec in nodes.items() if spec.node.is_response}


def _topological(root_id: str, nodes: Mapping[str, NodeSpec], out_edges: Mapping[str, tuple[Edge, ...]]) -> list[str]:
    indegree = dict.fromkeys(nodes, 0)
    for edges in out_edges.values():
        for edge in edges:
            indegree[edge.target] += 1
    queue = deque(nid for nid, d in indegree.items() if d == 0)
    order: list[str] = []
    while queue:
        nid = queue.popleft()
        order.append(nid)
        for edge in out_edges.get(nid, ()):
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                queue.append(edge.target)
    return order
