"""The event stream of a run: order, fields, and how End/Answer output is streamed."""

from __future__ import annotations

import uuid

from workflow_dsl import chain, edge, end, graph, node, run_graph, start, template

from kawa.workflow.events import NodeFinished, NodeStarted, TextChunk, WorkflowFinished, WorkflowStarted


async def test_a_linear_run_emits_started_node_pairs_and_finished_in_order() -> None:
    run = await run_graph(
        graph(
            [
                start("name"),
                template("greet", "Hi {{ name }}", name=["start", "name"]),
                end(greeting=["greet", "output"]),
            ],
            chain("start", "greet", "end"),
        ),
        {"name": "Ada"},
    )
    assert run.trace() == [
        ("WorkflowStarted", ""),
        ("NodeStarted", "start"),
        ("NodeFinished", "start"),
        ("NodeStarted", "greet"),
        ("NodeFinished", "greet"),
        ("NodeStarted", "end"),
        ("TextChunk", "Hi Ada"),  # a finished value streams inside the End node's own events, as in Dify
        ("NodeFinished", "end"),
        ("WorkflowFinished", ""),
    ]
    assert run.finished.status == "succeeded"
    assert run.finished.outputs == {"greeting": "Hi Ada"}
    assert run.finished.total_steps == 3


async def test_workflow_started_carries_inputs_and_sys_values() -> None:
    run = await run_graph(
        graph([start("q"), end()], chain("start", "end")), {"q": "x"}, system={"user_id": "u1", "app_id": "a1"}
    )
    started = run.events[0]
    assert isinstance(started, WorkflowStarted)
    assert started.inputs == {"q": "x", "sys.user_id": "u1", "sys.app_id": "a1"}
    assert started.created_at > 1_700_000_000


async def test_start_node_outputs_inputs_and_sys_keys() -> None:
    run = await run_graph(graph([start("q"), end()], chain("start", "end")), {"q": "x"}, system={"query": "hey"})
    assert run.node_finished("start").outputs == {"q": "x", "sys.query": "hey"}


async def test_node_events_carry_ids_titles_index_and_predecessor() -> None:
    run = await run_graph(graph([start(), template("t", "x"), end(out=["t", "output"])], chain("start", "t", "end")))
    started = {e.node_id: e for e in run.of(NodeStarted)}
    finished = {e.node_id: e for e in run.of(NodeFinished)}
    assert [started[n].index for n in ("start", "t", "end")] == [1, 2, 3]
    assert started["t"].predecessor_node_id == "start"
    assert started["start"].predecessor_node_id is None
    assert started["t"].node_type == "template-transform"
    assert started["t"].title == "T"
    for node_id in ("start", "t", "end"):
        assert finished[node_id].id == started[node_id].id
        uuid.UUID(started[node_id].id)
        assert finished[node_id].elapsed_time >= 0
        assert finished[node_id].finished_at >= finished[node_id].created_at
        assert finished[node_id].iteration_id is None


async def test_template_transform_reports_its_inputs_and_output() -> None:
    run = await run_graph(
        graph([start("a"), template("t", "{{ a }}!", a=["start", "a"]), end()], chain("start", "t", "end")), {"a": "x"}
    )
    finished = run.node_finished("t")
    assert finished.status == "succeeded"
    assert finished.inputs == {"a": "x"}
    assert finished.outputs == {"output": "x!"}


async def test_end_streams_each_output_with_a_newline_between_inside_its_own_events() -> None:
    run = await run_graph(
        graph(
            [start(), template("ca", "A"), template("cb", "B"), end(a=["ca", "output"], b=["cb", "output"])],
            chain("start", "ca", "cb", "end"),
        )
    )
    chunks = run.of(TextChunk)
    assert [(c.text, list(c.from_variable_selector)) for c in chunks] == [
        ("A", ["ca", "output"]),
        ("\n", ["end", "answer"]),
        ("B", ["cb", "output"]),
    ]
    end_started = run.events.index(next(e for e in run.of(NodeStarted) if e.node_id == "end"))
    end_finished = run.events.index(next(e for e in run.of(NodeFinished) if e.node_id == "end"))
    assert all(end_started < run.events.index(c) < end_finished for c in chunks)  # as Dify streams them


async def test_answer_streams_constant_text_at_once_and_variables_when_ready() -> None:
    run = await run_graph(
        graph(
            [
                start(),
                node("slow", "test-sleep", seconds=0.01, value="world"),
                node("answer", "answer", answer="Hello {{#slow.value#}}!"),
            ],
            chain("start", "slow", "answer"),
        )
    )
    chunks = [(c.text, list(c.from_variable_selector)) for c in run.of(TextChunk)]
    assert chunks == [("Hello ", ["answer", "answer"]), ("world", ["slow", "value"]), ("!", ["answer", "answer"])]
    first_chunk = run.events.index(run.of(TextChunk)[0])
    slow_finished = run.events.index(run.node_finished("slow"))
    assert first_chunk < slow_finished
    assert run.node_finished("answer").outputs == {"answer": "Hello world!", "files": []}


async def test_answer_forwards_a_streaming_node_chunk_by_chunk() -> None:
    run = await run_graph(
        graph(
            [
                start(),
                node("llm", "test-stream", deltas=["Hel", "lo", " there"], pause=0.001),
                node("answer", "answer", answer="> {{#llm.text#}}"),
            ],
            chain("start", "llm", "answer"),
        )
    )
    chunks = [(c.text, list(c.from_variable_selector)) for c in run.of(TextChunk)]
    assert chunks == [
        ("> ", ["answer", "answer"]),
        ("Hel", ["llm", "text"]),
        ("lo", ["llm", "text"]),
        (" there", ["llm", "text"]),
    ]
    llm_finished = run.events.index(run.node_finished("llm"))
    assert run.events.index(run.of(TextChunk)[1]) < llm_finished
    assert run.finished.outputs == {"answer": "> Hello there"}


async def test_answer_renders_values_as_markdown() -> None:
    run = await run_graph(
        graph(
            [
                start(),
                node("items", "test-sleep", value=["a", "b"]),
                node("obj", "test-sleep", value={"k": 1}),
                node("answer", "answer", answer="{{#items.value#}}|{{#obj.value#}}"),
            ],
            chain("start", "items", "obj", "answer"),
        )
    )
    assert run.text == '- a\n- b|{\n  "k": 1\n}'


async def test_unresolvable_reference_in_an_answer_renders_as_bare_text() -> None:
    run = await run_graph(
        graph([start(), node("answer", "answer", answer="x {{#start.nope#}} y")], chain("start", "answer"))
    )
    assert run.node_finished("answer").outputs["answer"] == "x start.nope y"
    assert run.text == "x start.nope y"


async def test_two_answers_in_sequence_stream_in_graph_order() -> None:
    run = await run_graph(
        graph(
            [
                start(),
                node("a1", "answer", answer="one "),
                node("slow", "test-sleep", seconds=0.01, value="v"),
                node("a2", "answer", answer="two {{#slow.value#}}"),
            ],
            chain("start", "a1", "slow", "a2"),
        )
    )
    assert run.text == "one two v"


async def test_answer_on_an_untaken_branch_streams_nothing() -> None:
    cases = [
        {
            "case_id": "yes",
            "logical_operator": "and",
            "conditions": [{"variable_selector": ["start", "q"], "comparison_operator": "is", "value": "yes"}],
        }
    ]
    spec = graph(
        [
            start("q"),
            node("if", "if-else", cases=cases),
            node("ay", "answer", answer="said yes"),
            node("an", "answer", answer="said no"),
        ],
        [*chain("start", "if"), edge("if", "ay", "yes"), edge("if", "an", "false")],
    )
    run = await run_graph(spec, {"q": "no"})
    assert run.text == "said no"
    assert "ay" not in run.started_ids()


async def test_answer_referencing_a_conversation_variable_waits_for_the_assigner() -> None:
    spec = graph(
        [
            start(),
            node(
                "set",
                "assigner",
                version="2",
                items=[
                    {
                        "variable_selector": ["conversation", "tier"],
                        "input_type": "constant",
                        "operation": "over-write",
                        "value": "pro",
                    }
                ],
            ),
            node("answer", "answer", answer="You are {{#conversation.tier#}}."),
        ],
        chain("start", "set", "answer"),
    )
    run = await run_graph(spec, conversation={"tier": "free"})
    assert run.text == "You are pro."
    assert run.finished.conversation_variables == {"tier": "pro"}


async def test_workflow_finished_reports_elapsed_time_and_timestamps() -> None:
    run = await run_graph(graph([start(), node("s", "test-sleep", seconds=0.02), end()], chain("start", "s", "end")))
    finished = run.finished
    assert isinstance(finished, WorkflowFinished)
    assert 0.02 <= finished.elapsed_time < 1
    assert finished.finished_at >= finished.created_at
    assert finished.exceptions_count == 0
    assert finished.error is None


async def test_answer_keeps_template_order_when_the_later_variable_streams_first() -> None:
    spec = graph(
        [
            start(),
            node("slow", "test-stream", deltas=["s1", "s2"], pause=0.03),
            node("fast", "test-stream", deltas=["f1", "f2"], pause=0.0),
            node("answer", "answer", answer="[{{#slow.text#}}|{{#fast.text#}}]"),
        ],
        [edge("start", "slow"), edge("start", "fast"), edge("slow", "answer"), edge("fast", "answer")],
    )
    run = await run_graph(spec)
    assert [c.text for c in run.of(TextChunk)] == ["[", "s1", "s2", "|", "f1", "f2", "]"]
    assert all(c.response_node_id == "answer" for c in run.of(TextChunk))


async def test_two_answers_on_parallel_branches_stream_one_after_the_other() -> None:
    spec = graph(
        [
            start(),
            node("a", "test-stream", deltas=["a1", "a2"], pause=0.02),
            node("b", "test-stream", deltas=["b1"]),
            node("ans_a", "answer", answer="{{#a.text#}}."),
            node("ans_b", "answer", answer="{{#b.text#}}."),
        ],
        [edge("start", "a"), edge("start", "b"), edge("a", "ans_a"), edge("b", "ans_b")],
    )
    run = await run_graph(spec)
    texts = [c.text for c in run.of(TextChunk)]
    assert texts in (["a1", "a2", ".", "b1", "."], ["b1", ".", "a1", "a2", "."])
