"""Suggested questions after an answer and generated conversation names."""

from __future__ import annotations

from easy_ui_support import chat_config
from fakes.openai_server import FakeOpenAI, Scenario

from kawa.apps.modes.easy_ui import HistoryTurn, generate_conversation_name, suggest_questions

HISTORY = [HistoryTurn(f"question {i}", f"answer {i}") for i in range(5)]


async def test_suggested_questions_are_parsed_from_the_first_json_array(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text='Sure! ["Will it snow?", "Is it windy?", "UV index?", "extra"] and [1]'))
    questions = await suggest_questions(HISTORY, models=models, model_config=chat_config())
    assert questions == ["Will it snow?", "Is it windy?", "UV index?"]
    body = fake.requests[-1].body
    assert (body["max_tokens"], body["temperature"]) == (256, 0.0)
    [message] = body["messages"]
    assert "Human: question 2\nAssistant: answer 2\nHuman: question 3" in message["content"]
    assert "question 1" not in message["content"]  # only the last three turns


async def test_suggested_questions_are_empty_on_unparseable_output(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="I would ask about the weather."))
    assert await suggest_questions(HISTORY, models=models, model_config=chat_config()) == []
    fake.on_model("gpt-4o-mini", Scenario(text='["unclosed", '))
    assert await suggest_questions(HISTORY, models=models, model_config=chat_config()) == []


async def test_suggested_questions_are_empty_when_the_model_fails(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=500, error_message="down"))
    assert await suggest_questions(HISTORY, models=models, model_config=chat_config()) == []
    assert await suggest_questions([], models=models, model_config=chat_config()) == []


async def test_conversation_name_is_the_models_output(fake: FakeOpenAI, models) -> None:
    fake.on_model(
        "gpt-4o-mini",
        Scenario(
            text='{"Language Type": "English", "Your Reasoning": "About tea.", "Your Output": "Brewing green tea"}'
        ),
    )
    name = await generate_conversation_name("How do I brew\ngreen tea?", models=models, model_config=chat_config())
    assert name == "Brewing green tea"
    body = fake.requests[-1].body
    assert (body["max_tokens"], body["temperature"]) == (500, 1.0)
    assert "How do I brew green tea?" in body["messages"][0]["content"]


async def test_long_conversation_names_are_cut_to_75_characters(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text='{"Your Output": "' + "x" * 100 + '"}'))
    name = await generate_conversation_name("q", models=models, model_config=chat_config())
    assert name == "x" * 75 + "..."


async def test_a_slightly_broken_json_title_is_still_read(fake: FakeOpenAI, models) -> None:
    broken = '```json\n{"Language Type": "English", "Your Output": "Tea time",}\n```'
    fake.on_model("gpt-4o-mini", Scenario(text=broken))
    assert await generate_conversation_name("tea", models=models, model_config=chat_config()) == "Tea time"


async def test_failed_naming_falls_back_to_the_query_cut_to_47_characters(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(status=429, error_message="slow down"))
    query = "Please explain the difference between a list and a tuple in Python"
    assert await generate_conversation_name(query, models=models, model_config=chat_config()) == query[:47] + "..."
    assert await generate_conversation_name("Short one", models=models, model_config=chat_config()) == "Short one"


async def test_output_that_is_not_a_title_falls_back_to_the_query(fake: FakeOpenAI, models) -> None:
    fake.on_model("gpt-4o-mini", Scenario(text="I cannot do that."))
    assert await generate_conversation_name("Tea?", models=models, model_config=chat_config()) == "Tea?"
