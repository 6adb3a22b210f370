"""Import → export → import gives the same app: the same document, mode and input form."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kawa.dsl import export_dsl, load_dsl
from kawa.dsl.versions import WRITTEN_VERSION
from kawa.workflow.graph import compile_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dsl"
NAMES = sorted(p.name for p in FIXTURES.glob("*.yml"))


@pytest.mark.parametrize("name", NAMES)
def test_export_reimports_to_the_same_app(name: str) -> None:
    first = load_dsl((FIXTURES / name).read_text(), check_graph=compile_graph)
    exported = export_dsl(first.document, include_secret=True)
    second = load_dsl(exported, check_graph=compile_graph)
    assert second.dsl_version == WRITTEN_VERSION
    assert second.mode == first.mode
    assert second.input_variables == first.input_variables
    assert second.features == first.features
    without_version = {k: v for k, v in second.document.items() if k != "version"}
    assert without_version == {k: v for k, v in first.document.items() if k != "version"}


def test_export_blanks_secrets_by_default() -> None:
    doc = load_dsl((FIXTURES / "workflow-files.yml").read_text(), check_graph=compile_graph)
    exported = yaml.safe_load(export_dsl(doc.document))
    secrets = [v for v in exported["workflow"]["environment_variables"] if v["value_type"] == "secret"]
    assert secrets and all(v["value"] == "" for v in secrets)
    assert "sk-test-not-a-real-secret" not in export_dsl(doc.document)
    assert "sk-test-not-a-real-secret" in export_dsl(doc.document, include_secret=True)


def test_export_starts_with_version_kind_app() -> None:
    doc = load_dsl((FIXTURES / "chat-assistant.yml").read_text(), check_graph=compile_graph)
    assert list(yaml.safe_load(export_dsl(doc.document)))[:3] == ["version", "kind", "app"]
