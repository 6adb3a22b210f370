"""The llm node against the fake upstream: prompts sent, streaming, reasoning split, structured output, usage."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from model_support import upstream_config
from nodes_support import run_node

from kawa.errors import ProviderRateLimited
from kawa.models.types import ChatMessage
from kawa.workflow.nodes.llm import LLMNode

MODEL = {
    "provider": "langgenius/openai/openai",
    "name": "gpt-4o-mini",
    "mode": "chat",
    "completion_params": {"temperature": 0.3, "stop": ["END"]},
}


def llm_data(**overrides: object) -> dict:
    data = {
        "type": "llm",
        "title": "LLM",
        "model": MODEL,
        "prompt_template": [
            {"role": "system", "text": "You answer questions about {{#start.topic#}}."},
            {"role": "user", "text": "{{#sys.query#}}"},
        ],
    }
    data.update(overrides)
    return data


async def test_llm_node_sends_the_rendered_prompt_and_streams_the_answer(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Kyoto was the capital."))
    run = await run_node(
        LLMNode,
        llm_data(),
        make_runtime(upstream_config(fake)),
        system={"query": "Old capital?"},
        outputs={"start": {"topic": "Japan"}},
    )
    sent = fake.requests[-1].body
    assert sent["messages"] == [
        {"role": "system", "content": "You answer questions about Japan."},
        {"role": "user", "content": "Old capital?"},
    ]
    assert sent["temperature"] == 0.3 and sent["stop"] == ["END"]
    assert run.streamed_text() == "Kyoto was the capital."
    assert len([d for v, d in run.streamed if v == "text"]) == 4
    out = run.result.outputs
    assert out["text"] == "Kyoto was the capital." and out["finish_reason"] == "stop"
    assert out["usage"]["completion_tokens"] == 4 and out["usage"]["total_price"] == "0.0"
    assert run.result.process_data["prompts"][1] == {"role": "user", "text": "Old capital?", "files": []}
    assert run.result.usage is not None and run.result.usage.total_tokens == out["usage"]["total_tokens"]


async def test_llm_node_prices_usage_for_execution_metadata(fake: FakeOpenAI, make_runtime) -> None:
    config = upstream_config(fake, prices={"gpt-4o-mini": {"input": "1", "output": "2", "unit": "0.001"}})
    run = await run_node(
        LLMNode, llm_data(), make_runtime(config), system={"query": "hi"}, outputs={"start": {"topic": "x"}}
    )
    usage = run.result.outputs["usage"]
    assert Decimal(usage["total_price"]) > 0
    assert run.result.usage.total_price == Decimal(usage["total_price"])
    assert run.result.usage.currency == "USD"


async def test_context_fills_the_context_placeholder(fake: FakeOpenAI, make_runtime) -> None:
    data = llm_data(
        context={"enabled": True, "variable_selector": ["kr", "result"]},
        prompt_template=[{"role": "system", "text": "Use this:\n{{#context#}}"}, {"role": "user", "text": "q"}],
    )
    chunks = [
        {"content": "Refunds within 30 days.", "metadata": {"_source": "knowledge"}},
        {"content": "Ships in 5 days."},
    ]
    run = await run_node(LLMNode, data, make_runtime(upstream_config(fake)), outputs={"kr": {"result": chunks}})
    assert fake.requests[-1].body["messages"][0]["content"] == "Use this:\nRefunds within 30 days.\nShips in 5 days.\n"
    assert run.result.inputs["#context#"].startswith("Refunds")


async def test_jinja2_prompts_render_with_their_variables(fake: FakeOpenAI, make_runtime) -> None:
    # As in Dify, array variables reach Jinja2 as their items joined by newlines.
    data = llm_data(
        prompt_template=[
            {
                "role": "user",
                "text": "",
                "edition_type": "jinja2",
                "jinja2_text": "{% if n > 1 %}Several{% endif %} names:\n{{ names | upper }}",
            }
        ],
        prompt_config={
            "jinja2_variables": [
                {"variable": "names", "value_selector": ["start", "names"]},
                {"variable": "n", "value_selector": ["start", "n"]},
            ]
        },
    )
    await run_node(
        LLMNode, data, make_runtime(upstream_config(fake)), outputs={"start": {"names": ["Ann", "Bo"], "n": 2}}
    )
    assert fake.requests[-1].body["messages"][0]["content"] == "Several names:\nANN\nBO"


async def test_memory_window_inserts_history_then_the_query(fake: FakeOpenAI, make_runtime) -> None:
    past = [ChatMessage.user("q1"), ChatMessage.assistant("a1"), ChatMessage.user("q2"), ChatMessage.assistant("a2")]
    data = llm_data(
        prompt_template=[{"role": "system", "text": "sys"}],
        memory={"window": {"enabled": True, "size": 1}, "query_prompt_template": "{{#sys.query#}}"},
    )
    await run_node(
        LLMNode,
        data,
        make_runtime(upstream_config(fake)),
        system={"query": "q3"},
        conversation_history=past,
    )
    assert fake.requests[-1].body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "q3"},
    ]


async def test_vision_files_go_inline_with_the_last_user_message(fake: FakeOpenAI, make_runtime) -> None:
    image = {
        "dify_model_identity": "__dify__file__",
        "id": "f1",
        "related_id": "up1",
        "type": "image",
        "transfer_method": "local_file",
        "mime_type": "image/png",
        "filename": "a.png",
    }

    async def read(file_id: str) -> bytes:
        assert file_id == "up1"
        return b"\x89PNG"

    data = llm_data(vision={"enabled": True, "configs": {"variable_selector": ["sys", "files"], "detail": "low"}})
    run = await run_node(
        LLMNode,
        data,
        make_runtime(upstream_config(fake)),
        system={"query": "what is it", "files": [image]},
        outputs={"start": {"topic": "x"}},
        file_reader=read,
    )
    content = fake.requests[-1].body["messages"][-1]["content"]
    assert content[0] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode(), "detail": "low"},
    }
    assert content[1] == {"type": "text", "text": "what is it"}
    assert run.result.inputs["#files#"] == [{"type": "image", "detail": "low"}]


async def test_reasoning_is_tagged_in_text_or_separated(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Answer.", reasoning="Thinking hard."))
    runtime = make_runtime(upstream_config(fake))
    tagged = await run_node(LLMNode, llm_data(), runtime, system={"query": "?"}, outputs={"start": {"topic": "x"}})
    assert tagged.result.outputs["text"] == "<think>\nThinking hard.\n</think>Answer."
    assert tagged.result.outputs["reasoning_content"] == "Thinking hard."
    separated = await run_node(
        LLMNode,
        llm_data(reasoning_format="separated"),
        runtime,
        system={"query": "?"},
        outputs={"start": {"topic": "x"}},
    )
    assert separated.result.outputs["text"] == "Answer."
    assert separated.result.outputs["reasoning_content"] == "Thinking hard."


async def test_structured_output_uses_json_schema_and_parses(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text='{"city": "Osaka", "population": 2.7}'))
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "number"}}}
    data = llm_data(structured_output_enabled=True, structured_output={"schema": schema})
    run = await run_node(
        LLMNode, data, make_runtime(upstream_config(fake)), system={"query": "?"}, outputs={"start": {"topic": "x"}}
    )
    assert fake.requests[-1].body["response_format"]["json_schema"]["schema"] == schema
    assert run.result.outputs["structured_output"] == {"city": "Osaka", "population": 2.7}


async def test_completion_mode_sends_one_prompt_with_histories(fake: FakeOpenAI, make_runtime) -> None:
    data = llm_data(
        model={**MODEL, "mode": "completion"},
        prompt_template={"text": "Chat so far:\n#histories#\nHuman: {{#sys.query#}}\nAssistant:"},
        memory={"role_prefix": {"user": "U", "assistant": "A"}, "window": {"enabled": False}},
    )
    await run_node(
        LLMNode,
        data,
        make_runtime(upstream_config(fake)),
        system={"query": "next"},
        conversation_history=[ChatMessage.user("hi"), ChatMessage.assistant("hello")],
    )
    assert fake.requests[-1].body["messages"] == [
        {"role": "user", "content": "Chat so far:\nU: hi\nA: hello\nHuman: next\nAssistant:"}
    ]


async def test_upstream_failure_fails_the_node_with_the_dify_code(fake: FakeOpenAI, make_runtime) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, error_message="Slow down."))
    with pytest.raises(ProviderRateLimited) as info:
        await run_node(
            LLMNode,
            llm_data(),
            make_runtime(upstream_config(fake)),
            system={"query": "?"},
            outputs={"start": {"topic": "x"}},
        )
    assert (info.value.code, info.value.status) == ("rate_limit_error", 429)


async def test_images_are_dropped_for_a_provider_without_vision(fake: FakeOpenAI, make_runtime) -> None:
    image = {
        "dify_model_identity": "__dify__file__",
        "id": "f1",
        "type": "image",
        "transfer_method": "remote_url",
        "remote_url": "https://example.com/cat.png",
        "filename": "cat.png",
    }
    config = upstream_config(fake)
    config.providers["openai"].vision = False
    data = llm_data(vision={"enabled": True, "configs": {"variable_selector": ["sys", "files"]}})
    await run_node(
        LLMNode,
        data,
        make_runtime(config),
        system={"query": "what is it", "files": [image]},
        outputs={"start": {"topic": "x"}},
    )
    assert fake.requests[-1].body["messages"][-1] == {"role": "user", "content": "what is it"}


async def test_remote_images_are_sent_by_url(fake: FakeOpenAI, make_runtime) -> None:
    image = {
        "dify_model_identity": "__dify__file__",
        "id": "f1",
        "type": "image",
        "transfer_method": "remote_url",
        "remote_url": "https://example.com/cat.png",
        "filename": "cat.png",
    }
    data = llm_data(vision={"enabled": True, "configs": {"variable_selector": ["sys", "files"]}})
    await run_node(
        LLMNode,
        data,
        make_runtime(upstream_config(fake)),
        system={"query": "what is it", "files": [image]},
        outputs={"start": {"topic": "x"}},
    )
    assert fake.requests[-1].body["messages"][-1]["content"][0]["image_url"]["url"] == "https://example.com/cat.png"
