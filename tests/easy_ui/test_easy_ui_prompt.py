"""The prompt the upstream receives: simple and advanced modes, chat and completion models, history, context."""

from __future__ import annotations

from easy_ui_support import API_KEY, chat_config, finished, fixture_config, make_request, run
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.apps.modes.easy_ui import HistoryTurn, RetrievedSegment


def sent_messages(fake: FakeOpenAI) -> list[dict]:
    return fake.requests[-1].body["messages"]


async def test_pre_prompt_variables_are_filled_from_inputs_into_the_system_message(fake, models) -> None:
    config = fixture_config("chat-assistant.yml")
    request = make_request(config, "Rain tomorrow?", inputs={"unit": "fahrenheit", "notes": " none"})
    await run(request, models)
    assert sent_messages(fake) == [
        {
            "role": "system",
            "content": "You are a weather assistant. Answer in fahrenheit. Extra notes from the user: none",
        },
        {"role": "user", "content": "Rain tomorrow?"},
    ]


async def test_unknown_variables_stay_and_inputs_cannot_inject_other_variables(fake, models) -> None:
    config = chat_config("Say {{greeting}} to {{name}}.")
    await run(make_request(config, "hi", inputs={"greeting": "{{name}}"}), models)
    assert sent_messages(fake)[0]["content"] == "Say {name} to {{name}}."


async def test_history_goes_between_system_and_query_oldest_first(fake, models) -> None:
    history = [HistoryTurn("first question", "first answer"), HistoryTurn("second question", "second answer")]
    await run(make_request(chat_config(), "third question", history=history), models)
    assert [(m["role"], m["content"]) for m in sent_messages(fake)] == [
        ("system", "You are helpful."),
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question"),
        ("assistant", "second answer"),
        ("user", "third question"),
    ]


async def test_history_is_trimmed_oldest_first_to_the_token_budget(fake, models) -> None:
    config = chat_config()
    config["model"]["context_size"] = 400
    config["model"]["completion_params"]["max_tokens"] = 100
    history = [HistoryTurn(f"question {i} " + "word " * 60, f"answer {i}") for i in range(6)]
    await run(make_request(config, "now?", history=history), models)
    users = [m["content"] for m in sent_messages(fake) if m["role"] == "user"]
    assert users[-1] == "now?"
    kept = [u.split()[1] for u in users[:-1]]
    assert kept and kept == [str(i) for i in range(6 - len(kept), 6)] and len(kept) < 6


async def test_unanswered_turns_are_left_out_of_history(fake, models) -> None:
    history = [HistoryTurn("stopped early", ""), HistoryTurn("answered", "yes")]
    await run(make_request(chat_config(), "next", history=history), models)
    assert [m["content"] for m in sent_messages(fake)[1:]] == ["answered", "yes", "next"]


async def test_context_from_the_retriever_is_put_in_context_tags_before_the_pre_prompt(fake, models) -> None:
    seen: list[tuple[list[str], str]] = []

    async def retriever(dataset_ids, query, config):
        seen.append((dataset_ids, query))
        return [
            RetrievedSegment(1, "ds-1", "Manual", "doc-1", "manual.pdf", "seg-1", 0.9, "The pump runs at 40 C."),
            RetrievedSegment(2, "ds-1", "Manual", "doc-1", "manual.pdf", "seg-2", 0.7, "It needs oil yearly."),
        ]

    config = chat_config(
        "Answer briefly.",
        dataset_configs={
            "datasets": {
                "datasets": [
                    {"dataset": {"enabled": True, "id": "ds-1"}},
                    {"dataset": {"enabled": False, "id": "ds-off"}},
                ]
            },
            "retrieval_model": "multiple",
            "top_k": 4,
        },
    )
    await run(make_request(config, "How hot is the pump?"), models, retriever=retriever)
    assert seen == [(["ds-1"], "How hot is the pump?")]
    system = sent_messages(fake)[0]["content"]
    assert "<context>\nThe pump runs at 40 C.\nIt needs oil yearly.\n</context>" in system
    assert system.index("</context>") < system.index("Answer briefly.")


async def test_query_images_are_sent_as_vision_parts(fake, models) -> None:
    config = chat_config(file_upload={"image": {"enabled": True, "detail": "high"}})
    files = [
        {"type": "image", "url": "https://files.example/cat.png", "filename": "cat.png"},
        {"type": "document", "url": "https://files.example/a.pdf", "filename": "a.pdf"},
    ]
    await run(make_request(config, "What is this?", files=files), models)
    assert sent_messages(fake)[-1]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://files.example/cat.png", "detail": "high"}},
    ]


async def test_completion_params_reach_the_upstream(fake, models) -> None:
    config = chat_config()
    config["model"]["completion_params"] = {
        "temperature": 0.2,
        "top_p": 0.8,
        "max_tokens": 64,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
    }
    await run(make_request(config), models)
    body = fake.requests[-1].body
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["stop"]) == (0.2, 0.8, 64, ["END"])
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.1, 0.3)
    assert body["user"] == "user-1"


async def test_completion_model_in_a_chat_app_gets_the_human_assistant_template(fake, models) -> None:
    config = chat_config("Be kind.")
    config["model"]["mode"] = "completion"
    history = [HistoryTurn("hi", "hello")]
    await run(make_request(config, "how are you?", history=history), models)
    body = fake.requests[-1].body
    [message] = body["messages"]
    text = message["content"]
    assert message["role"] == "user"
    assert text.startswith("Be kind.\n")
    assert "<histories>\nHuman: hi\nAssistant: hello\n</histories>" in text
    assert text.endswith("\n\nHuman: how are you?\n\nAssistant: ")
    assert body["stop"] == ["\nHuman:", "</histories>"]


async def test_completion_app_sends_the_filled_pre_prompt_and_the_query(fake, models) -> None:
    config = fixture_config("completion-writer.yml")
    config["model"]["provider"] = "openai"
    config["sensitive_word_avoidance"]["enabled"] = False
    inputs = {"product": "Kettle", "facts": "boils fast"}
    events = await run(make_request(config, "", mode="completion", inputs=inputs), models)
    assert sent_messages(fake) == [
        {"role": "user", "content": "Write a two-sentence blurb for Kettle. Facts: boils fast"}
    ]
    assert fake.requests[-1].body["max_tokens"] == 256
    assert finished(events).answer == "Hello from the fake upstream."


async def test_advanced_chat_prompt_uses_the_configured_messages_then_history_then_query(fake, models) -> None:
    config = chat_config(
        "",
        prompt_type="advanced",
        chat_prompt_config={
            "prompt": [
                {"role": "system", "text": "You speak {{lang}}. Known: {{#context#}}"},
                {"role": "user", "text": "Example question"},
                {"role": "assistant", "text": "Example answer"},
            ]
        },
    )
    history = [HistoryTurn("earlier", "before")]
    await run(make_request(config, "now", inputs={"lang": "French"}, history=history), models)
    assert [(m["role"], m["content"]) for m in sent_messages(fake)] == [
        ("system", "You speak French. Known: "),
        ("user", "Example question"),
        ("assistant", "Example answer"),
        ("user", "earlier"),
        ("assistant", "before"),
        ("user", "now"),
    ]


async def test_advanced_completion_prompt_fills_histories_query_and_inputs(fake, models) -> None:
    config = chat_config(
        "",
        prompt_type="advanced",
        completion_prompt_config={
            "prompt": {"text": "Topic: {{topic}}\n{{#histories#}}\nUser: {{#query#}}\nBot:"},
            "conversation_histories_role": {"user_prefix": "User", "assistant_prefix": "Bot"},
        },
    )
    config["model"]["mode"] = "completion"
    await run(make_request(config, "and now?", inputs={"topic": "tea"}, history=[HistoryTurn("hi", "hey")]), models)
    assert sent_messages(fake) == [{"role": "user", "content": "Topic: tea\nUser: hi\nBot: hey\nUser: and now?\nBot:"}]


async def test_a_fake_scenario_answer_is_the_pipeline_answer(fake, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="Sunny all week."))
    events = await run(make_request(chat_config(), "Weather?"), models)
    result = finished(events)
    assert result.answer == "Sunny all week."
    assert [m.role for m in result.prompt_messages] == ["system", "user"]


async def test_images_are_left_out_for_a_model_without_vision(fake, easy_ui_upstream) -> None:
    from kawa.models.registry import ModelRuntime
    from kawa.models.settings import ModelsSettings

    config = ModelsSettings.model_validate(
        {
            "providers": {"openai": {"base_url": easy_ui_upstream.base_url, "api_key": API_KEY, "vision": False}},
            "max_retries": 0,
            "embedded": {"enabled": False},
        }
    )
    runtime = ModelRuntime(config)
    try:
        files = [{"type": "image", "url": "https://files.example/cat.png"}]
        await run(make_request(chat_config(), "What is this?", files=files), runtime)
    finally:
        await runtime.aclose()
    assert sent_messages(fake)[-1] == {"role": "user", "content": "What is this?"}
