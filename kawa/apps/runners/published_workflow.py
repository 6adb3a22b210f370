"""What the runners read from a published workflow version: its compiled graph (cached) and its environment."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from kawa.store.tables import AppVersion
from kawa.workflow.graph import Graph, compile_graph

GRAPH_CACHE_SIZE = 256


class GraphCache:
    """Compiled graphs by published version id: a version is immutable, so compile it once."""

    def __init__(self, size: int = GRAPH_CACHE_SIZE) -> None:
        self._graphs: OrderedDict[str, Graph] = OrderedDict()
        self._size = size

    def get(self, version: AppVersion) -> Graph:
        graph = self._graphs.get(version.id)
        if graph is None:
            graph = compile_graph(version.document["workflow"]["graph"])
            self._graphs[version.id] = graph
            if len(self._graphs) > self._size:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(version.id)
        return graph


def environment_of(document: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The environment variables' values by name, and the names of the secret ones."""
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for variable in (document.get("workflow") or {}).get("environment_variables") or []:
        values[variable["name"]] = variable.get("value")
        if variable.get("value_type") == "secret":
            secrets.add(variable["name"])
    return values, secrets
