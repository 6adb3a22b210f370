"""Dify's documented response and event shapes as pydantic models (field names, types, nullability read from
Dify's Service API reference, `langgenius/dify-docs` `en/api-reference/openapi_service.json`).

They document kawa's wire contract and are what the contract tests validate every response and SSE event against.
They are never run on the request path: routes build plain dicts, and validating each answer would cost CPU per
request. `extra="allow"`: kawa may send more than Dify documents (Dify's clients ignore unknown fields); strict
types: a string where Dify sends an integer is a drift."""
