"""Prices, usage arithmetic and secret redaction."""

from __future__ import annotations

from decimal import Decimal

from kawa.models.failures import error_for_status, redact
from kawa.models.pricing import PriceTable, estimate_tokens
from kawa.models.settings import ModelPrice
from kawa.models.types import TokenCount, Usage


def test_price_is_tokens_times_unit_times_unit_price_rounded_to_seven_places() -> None:
    table = PriceTable({"gpt-4o": ModelPrice(input=Decimal("2.5"), output=Decimal("10"), unit=Decimal("0.000001"))})
    usage = table.usage("openai", "gpt-4o", TokenCount(prompt_tokens=1234, completion_tokens=56))
    assert usage.prompt_price == Decimal("0.0030850")
    assert usage.completion_price == Decimal("0.0005600")
    assert usage.total_price == Decimal("0.0036450")
    dumped = usage.model_dump(mode="json")
    assert (dumped["prompt_unit_price"], dumped["prompt_price_unit"], dumped["total_price"]) == (
        "2.5",
        "0.000001",
        "0.0036450",
    )


def test_prices_written_as_numbers_are_exact_decimals_not_binary_floats() -> None:
    price = ModelPrice.model_validate({"input": 0.15, "output": 0.6, "unit": 0.000001})
    assert (price.input, price.output, price.unit) == (Decimal("0.15"), Decimal("0.6"), Decimal("0.000001"))
    usage = PriceTable({"m": price}).usage("p", "m", TokenCount(prompt_tokens=3, completion_tokens=7))
    assert all(isinstance(v, Decimal) for k, v in usage if "price" in k)
    assert usage.total_price == Decimal("0.0000047")
    assert usage.prompt_price == Decimal("0.0000005")  # 0.00000045 rounded half up to seven places


def test_provider_specific_price_wins_over_the_model_wide_one() -> None:
    table = PriceTable({"gpt-4o": ModelPrice(input=Decimal("1")), "azure/gpt-4o": ModelPrice(input=Decimal("2"))})
    assert table.price_of("azure", "gpt-4o").input == Decimal("2")
    assert table.price_of("openai", "gpt-4o").input == Decimal("1")


def test_usages_add_up_across_calls() -> None:
    a = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, total_price=Decimal("0.001"), latency=0.5)
    b = Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, total_price=Decimal("0.0005"), latency=0.25)
    total = a.plus(b)
    assert (total.total_tokens, total.total_price, total.latency) == (18, Decimal("0.0015"), 0.75)
    assert Usage().plus(b) == b


def test_token_estimate_counts_cjk_characters_one_each() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello world, this is text") == 7
    assert estimate_tokens("こんにちは") == 5


def test_redaction_removes_whole_keys_and_recognisable_fragments() -> None:
    key = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX"
    text = f"Incorrect API key provided: {key}. Also sk-proj-A...QRSTUVWX and {key[:8]}***"
    cleaned = redact(text, [key, None])
    assert key not in cleaned and key[-8:] not in cleaned and key[:8] not in cleaned


def test_status_codes_map_to_dify_codes() -> None:
    assert error_for_status(401, "bad key", provider="p").code == "provider_not_initialize"
    assert error_for_status(429, "slow down", provider="p").code == "rate_limit_error"
    assert error_for_status(429, "pay up", provider="p", code="insufficient_quota").code == "provider_quota_exceeded"
    assert error_for_status(503, "busy", provider="p").status == 503
    assert error_for_status(404, "The model `x` does not exist", provider="p").code == "model_currently_not_support"
    assert error_for_status(400, "bad request", provider="p").code == "completion_request_error"
    assert error_for_status(None, "timeout", provider="p").code == "completion_request_error"
    assert getattr(error_for_status(503, "busy", provider="p"), "retryable", False)
    assert not getattr(error_for_status(400, "bad", provider="p"), "retryable", True)
