"""`NodeRegistry`: node type string -> Node class. Immutable; `with_nodes` returns an extended copy (tests use it
to add their own node types to a graph)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kawa.workflow.nodes.base import Node


class NodeRegistry:
    __slots__ = ("_classes",)

    def __init__(
        self, classes: Iterable[type[Node[Any]]] = (), *, aliases: Mapping[str, type[Node[Any]]] | None = None
    ) -> None:
        table: dict[str, type[Node[Any]]] = {}
        for cls in classes:
            if not cls.node_type:
                raise ValueError(f"{cls.__name__} has no node_type")
            table[cls.node_type] = cls
        table.update(aliases or {})
        self._classes = table

    def get(self, node_type: str) -> type[Node[Any]] | None:
        return self._classes.get(node_type)

    def with_nodes(self, *classes: type[Node[Any]]) -> NodeRegistry:
        merged = NodeRegistry(classes)
        merged._classes = {**self._classes, **merged._classes}
        return merged

    def types(self) -> frozenset[str]:
        return frozenset(self._classes)
