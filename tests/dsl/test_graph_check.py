"""`load_dsl` hands the `workflow.graph` of graph-mode apps to the compiler its caller passes in (kawa.dsl does not
import kawa.workflow), and refuses the document with that compiler's error."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kawa.dsl import load_dsl
from kawa.errors import DslError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"


class RecordingCheck:
    def __init__(self) -> None:
        self.graphs: list[Mapping[str, Any]] = []

    def __call__(self, graph: Mapping[str, Any], /) -> object:
        self.graphs.append(graph)
        return None


def test_a_workflow_apps_graph_goes_to_the_given_check() -> None:
    text = (FIXTURES / "workflow-files.yml").read_text()
    check = RecordingCheck()
    load_dsl(text, check_graph=check)
    assert check.graphs == [yaml.safe_load(text)["workflow"]["graph"]]


def test_a_chat_app_has_no_graph_to_check() -> None:
    check = RecordingCheck()
    load_dsl((FIXTURES / "chat-assistant.yml").read_text(), check_graph=check)
    assert check.graphs == []


def test_the_checks_error_refuses_the_document() -> None:
    def refuse(graph: Mapping[str, Any], /) -> object:
        raise DslError("workflow.graph.nodes[0]", "refused by the check")

    with pytest.raises(DslError) as info:
        load_dsl((FIXTURES / "workflow-files.yml").read_text(), check_graph=refuse)
    assert info.value.path == "workflow.graph.nodes[0]"
