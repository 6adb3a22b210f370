"""Token counts to Dify's `usage` object, priced from the configured price table."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from kawa.models.settings import ModelPrice
from kawa.models.types import TokenCount, Usage

_QUANTUM = Decimal("0.0000001")


class PriceTable:
    """Looks prices up by "provider/model", then "model"; unknown models cost nothing."""

    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self._prices = dict(prices)

    def price_of(self, provider: str, model: str) -> ModelPrice | None:
        return self._prices.get(f"{provider}/{model}") or self._prices.get(model)

    def usage(
        self,
        provider: str,
        model: str,
        tokens: TokenCount,
        *,
        latency: float = 0.0,
        time_to_first_token: float | None = None,
        time_to_generate: float | None = None,
    ) -> Usage:
        price = self.price_of(provider, model)
        total_tokens = tokens.prompt_tokens + tokens.completion_tokens
        latency = round(latency, 3)
        time_to_first_token = _seconds(time_to_first_token)
        time_to_generate = _seconds(time_to_generate)
        if price is None:
            return Usage(
                prompt_tokens=tokens.prompt_tokens,
                completion_tokens=tokens.completion_tokens,
                total_tokens=total_tokens,
                latency=latency,
                time_to_first_token=time_to_first_token,
                time_to_generate=time_to_generate,
            )
        prompt_price = _amount(tokens.prompt_tokens, price.input, price.unit)
        completion_price = _amount(tokens.completion_tokens, price.output, price.unit)
        return Usage(
            prompt_tokens=tokens.prompt_tokens,
            prompt_unit_price=price.input,
            prompt_price_unit=price.unit,
            prompt_price=prompt_price,
            completion_tokens=tokens.completion_tokens,
            completion_unit_price=price.output,
            completion_price_unit=price.unit,
            completion_price=completion_price,
            total_tokens=total_tokens,
            total_price=prompt_price + completion_price,
            currency=price.currency,
            latency=latency,
            time_to_first_token=time_to_first_token,
            time_to_generate=time_to_generate,
        )


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _amount(tokens: int, unit_price: Decimal, unit: Decimal) -> Decimal:
    return (Decimal(tokens) * unit * unit_price).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def estimate_tokens(text: str) -> int:
    """A rough count for upstreams that report no usage: ~4 characters per token, CJK characters one each."""
    if not text:
        return 0
    wide = sum(1 for ch in text if ord(ch) >= 0x3000)
    return max(1, wide + (len(text) - wide + 3) // 4)
