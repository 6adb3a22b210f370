"""DSL import refuses broken files with a precise path, and accepts every mode and version Dify writes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kawa.dsl import load_dsl
from kawa.errors import DslError
from kawa.workflow.graph import compile_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((FIXTURES / name).read_text())
    return doc


def refused(doc: Any) -> DslError:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc)
    with pytest.raises(DslError) as info:
        load_dsl(text, check_graph=compile_graph)
    return info.value


def test_every_fixture_imports() -> None:
    modes = {
        load_dsl((FIXTURES / f).read_text(), check_graph=compile_graph).mode
        for f in sorted(p.name for p in FIXTURES.glob("*.yml"))
    }
    assert modes == {"workflow", "advanced-chat", "chat", "agent-chat", "completion"}


def test_older_versions_import_with_a_warning() -> None:
    doc = load_dsl((FIXTURES / "agent-tools.yml").read_text(), check_graph=compile_graph)
    assert doc.dsl_version == "0.3.1"
    assert doc.warnings and "older" in doc.warnings[0]


def test_missing_version_means_0_1_0() -> None:
    doc = fixture("chat-assistant.yml")
    del doc["version"]
    assert load_dsl(yaml.safe_dump(doc), check_graph=compile_graph).dsl_version == "0.1.0"


def test_not_yaml_is_refused() -> None:
    error = refused("app: [unclosed\n  - mode: chat")
    assert "not valid YAML" in error.message and "line" in error.message


def test_a_list_is_not_an_app() -> None:
    assert refused("- 1\n- 2\n").path == ""


def test_newer_version_needs_force() -> None:
    doc = fixture("chat-assistant.yml")
    doc["version"] = "0.9.0"
    assert refused(doc).path == "version"
    assert load_dsl(yaml.safe_dump(doc), check_graph=compile_graph, allow_newer=True).warnings


def test_garbage_version_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    doc["version"] = "banana"
    assert refused(doc).message == "version: 'banana' is not a version number"


def test_wrong_kind_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    doc["kind"] = "dataset"
    assert refused(doc).path == "kind"


def test_missing_app_section_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    del doc["app"]
    assert refused(doc).message == "app: a mapping is required"


def test_unknown_mode_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    doc["app"]["mode"] = "rag-pipeline"
    assert refused(doc).path == "app.mode"


def test_empty_name_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    doc["app"]["name"] = "  "
    assert refused(doc).path == "app.name"


def test_chat_app_without_model_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    del doc["model_config"]["model"]["provider"]
    assert refused(doc).path == "model_config.model.provider"


def test_duplicate_form_variable_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    doc["model_config"]["user_input_form"].append({"text-input": {"variable": "unit", "label": "again"}})
    error = refused(doc)
    assert error.path == "model_config.user_input_form[2].text-input.variable"
    assert "duplicate" in error.message


def test_unknown_form_input_type_is_refused() -> None:
    doc = fixture("chat-assistant.yml")
    doc["model_config"]["user_input_form"].append({"colour-picker": {"variable": "c"}})
    assert refused(doc).path == "model_config.user_input_form[2]"


def test_workflow_without_graph_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    del doc["workflow"]["graph"]
    assert refused(doc).path == "workflow.graph"


def test_bad_environment_variable_type_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    doc["workflow"]["environment_variables"][0]["value_type"] = "date"
    assert refused(doc).path == "workflow.environment_variables[0].value_type"


def test_duplicate_environment_variable_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    doc["workflow"]["environment_variables"].append(copy.deepcopy(doc["workflow"]["environment_variables"][0]))
    assert refused(doc).path == "workflow.environment_variables[2].name"


def test_secret_conversation_variable_is_refused() -> None:
    doc = fixture("chatflow-support.yml")
    doc["workflow"]["conversation_variables"][0]["value_type"] = "secret"
    assert refused(doc).path == "workflow.conversation_variables[0].value_type"


def test_conversation_variables_in_a_workflow_app_are_refused() -> None:
    doc = fixture("workflow-files.yml")
    doc["workflow"]["conversation_variables"] = [
        {"name": "x", "value_type": "string", "value": "", "id": "1", "selector": ["conversation", "x"]}
    ]
    assert refused(doc).path == "workflow.conversation_variables"


# -- graph structure (compiled by the workflow engine's compiler, paths into workflow.graph)


def _nodes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = doc["workflow"]["graph"]["nodes"]
    return nodes


def test_unknown_node_type_is_refused_with_its_path() -> None:
    doc = fixture("workflow-files.yml")
    _nodes(doc)[1]["data"]["type"] = "foo"
    error = refused(doc)
    assert error.path == "workflow.graph.nodes[1].data.type"
    assert "unknown node type 'foo'" in error.message


def test_edge_to_a_missing_node_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    doc["workflow"]["graph"]["edges"][1]["target"] = "nowhere"
    assert refused(doc).path.startswith("workflow.graph.edges[1]")


def test_missing_start_node_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    doc["workflow"]["graph"]["nodes"] = _nodes(doc)[1:]
    doc["workflow"]["graph"]["edges"] = doc["workflow"]["graph"]["edges"][1:]
    assert "start" in refused(doc).message


def test_cycle_outside_a_loop_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    doc["workflow"]["graph"]["edges"].append(
        {
            "id": "back",
            "source": "1718000000002",
            "sourceHandle": "source",
            "target": "1718000000002",
            "targetHandle": "target",
            "type": "custom",
        }
    )
    assert "cycle" in refused(doc).message


def test_duplicate_start_variable_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    variables = _nodes(doc)[0]["data"]["variables"]
    variables.append(copy.deepcopy(variables[0]))
    error = refused(doc)
    assert error.path.startswith("workflow.graph.nodes[0].data.variables")
    assert "duplicate" in error.message


def test_selector_to_a_missing_node_is_refused() -> None:
    doc = fixture("workflow-files.yml")
    _nodes(doc)[2]["data"]["outputs"][0]["value_selector"] = ["ghost", "output"]
    error = refused(doc)
    assert error.path.startswith("workflow.graph.nodes[2].data.outputs[0]")
    assert "ghost" in error.message


def test_template_reference_to_a_missing_node_is_refused() -> None:
    doc = fixture("chatflow-support.yml")
    _nodes(doc)[5]["data"]["answer"] = "Hello {{#ghost.text#}}"
    assert "ghost" in refused(doc).message
