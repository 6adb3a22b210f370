"""`HttpRequestSettings`: outbound HTTP knobs, nested into `kawa.settings.Settings` as `http_request`
(env `KAWA_HTTP_REQUEST__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HttpRequestSettings(BaseModel):
    """Outbound HTTP from http-request nodes and tools."""

    allowed_targets: list[str] = Field(
        default_factory=list,
        description="CIDRs or host[:port] entries that may be reached although private/loopback (SSRF allow-list).",
    )
