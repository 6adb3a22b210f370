"""The variable pool, template rendering, value renderings, and secret masking in events."""

from __future__ import annotations

from workflow_dsl import chain, end, graph, node, run_graph, start, template

from kawa.workflow.events import NodeFinished, TextChunk
from kawa.workflow.masking import obfuscate
from kawa.workflow.template import render_markdown, render_text
from kawa.workflow.values import to_markdown, to_text
from kawa.workflow.variable_pool import VariablePool

FILE = {
    "dify_model_identity": "__dify__file__",
    "type": "image",
    "filename": "cat.png",
    "extension": ".png",
    "size": 5,
    "url": "https://x/cat.png",
    "mime_type": "image/png",
    "transfer_method": "local_file",
}


def pool() -> VariablePool:
    p = VariablePool(system={"query": "q?"}, environment={"key": "k"}, conversation={"name": "Ann"})
    p.set_outputs("n1", {"text": "hello", "obj": {"a": {"b": 1}}, "file": FILE, "none": None})
    return p


def test_pool_reads_namespaces_nodes_object_paths_and_file_attributes() -> None:
    p = pool()
    assert p.get(["sys", "query"]) == "q?"
    assert p.get(["env", "key"]) == "k"
    assert p.get(["conversation", "name"]) == "Ann"
    assert p.get(["n1", "text"]) == "hello"
    assert p.get(["n1", "obj", "a", "b"]) == 1
    assert p.get(["n1", "file", "name"]) == "cat.png"
    assert p.get(["n1", "file", "extension"]) == ".png"
    assert p.get(["n1", "file", "url"]) == "https://x/cat.png"
    assert not p.contains(["n1", "missing"])
    assert not p.contains(["n1", "obj", "zzz"])
    assert p.contains(["n1", "none"])


def test_child_pool_reads_through_and_writes_outer_names_in_place() -> None:
    parent = pool()
    layer = parent.child()
    layer.set_outputs("inner", {"v": 1})
    layer.set(["conversation", "name"], "Bob")
    assert layer.get(["n1", "text"]) == "hello"
    assert parent.get(["conversation", "name"]) == "Bob"
    assert not parent.contains(["inner", "v"])


def test_template_renders_values_as_text() -> None:
    assert render_text("{{#n1.text#}} {{#sys.query#}} {{#n1.obj#}}", pool()) == 'hello q? {"a": {"b": 1}}'


def test_unresolvable_reference_renders_as_bare_selector_text() -> None:
    assert render_text("a {{#n1.nope#}} b {{#ghost.x.y#}}", pool()) == "a n1.nope b ghost.x.y"


def test_null_value_renders_empty() -> None:
    assert render_text("[{{#n1.none#}}]", pool()) == "[]"


def test_text_rendering_of_each_type() -> None:
    assert to_text(3) == "3"
    assert to_text(2.5) == "2.5"
    assert to_text(True) == "True"
    assert to_text(["a", "é"]) == '["a", "é"]'
    assert to_text([1, 2]) == "[1, 2]"
    assert to_text([]) == ""
    assert to_text(FILE) == ""
    assert to_text([FILE]) == ""
    assert to_text({"k": "é"}) == '{"k": "é"}'


def test_markdown_rendering_of_each_type() -> None:
    assert to_markdown(["a", "b"]) == "- a\n- b"
    assert to_markdown({"k": 1}) == '{\n  "k": 1\n}'
    assert to_markdown(FILE) == "![cat.png](https://x/cat.png)"
    assert to_markdown([{**FILE, "type": "document", "filename": "d.pdf"}]) == "[d.pdf](https://x/cat.png)"
    assert render_markdown("{{#n1.file#}}", pool()) == "![cat.png](https://x/cat.png)"


def test_obfuscation_matches_dify() -> None:
    assert obfuscate("sk-1234567890abcdef") == "sk-123************ef"
    assert obfuscate("short") == "*" * 20


SECRET = "sk-live-0123456789abcdef"


async def test_secret_env_values_never_appear_in_events() -> None:
    spec = graph(
        [
            start(),
            template("t", "Bearer {{ token }}", token=["env", "token"]),
            node("a", "answer", answer="{{#t.output#}} / {{#env.token#}}"),
            end(out=["t", "output"]),
        ],
        [*chain("start", "t", "a"), *chain("t", "end")],
    )
    run = await run_graph(spec, environment={"token": SECRET, "plain": "visible"}, secrets={"token"})
    assert SECRET not in repr(run.events)
    masked = obfuscate(SECRET)
    t = run.node_finished("t")
    assert t.inputs == {"token": masked}
    assert t.outputs == {"output": f"Bearer {masked}"}
    assert all(SECRET not in c.text for c in run.of(TextChunk))
    assert run.finished.outputs == {"out": f"Bearer {masked}"}


async def test_non_secret_env_values_are_shown() -> None:
    spec = graph(
        [start(), template("t", "{{ v }}", v=["env", "plain"]), end(out=["t", "output"])], chain("start", "t", "end")
    )
    run = await run_graph(spec, environment={"plain": "visible", "token": SECRET}, secrets={"token"})
    assert run.node_finished("t").outputs == {"output": "visible"}


async def test_masking_does_not_change_what_downstream_nodes_see() -> None:
    spec = graph(
        [
            start(),
            template("t", "{{ v }}", v=["env", "token"]),
            node(
                "if",
                "if-else",
                cases=[
                    {
                        "case_id": "real",
                        "conditions": [
                            {"variable_selector": ["t", "output"], "comparison_operator": "is", "value": SECRET}
                        ],
                    }
                ],
            ),
            end(),
        ],
        chain("start", "t", "if", "end"),
    )
    run = await run_graph(spec, environment={"token": SECRET}, secrets={"token"})
    finished = next(e for e in run.of(NodeFinished) if e.node_id == "if")
    assert finished.outputs == {"result": True, "selected_case_id": "real"}
