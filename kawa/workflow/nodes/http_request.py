"""The `http-request` node: one HTTP request built from templates, sent through the SSRF-guarded client.

Outputs `status_code`, `body` (text; empty for a file response), `headers` and `files`. A response the server marks
as a file (attachment, or a binary content type) becomes a file value, kept by `NodeServices.file_saver` for the
run's app and user; without a saver, `files` is empty and the size is reported in `process_data`. Caps: 10 MB for
files, 1 MB for text (Dify's). Timeouts are capped at 10 s connect, 600 s read and write. A non-2xx status only
fails the node when an error strategy or retry is configured, as in Dify.
"""

from __future__ import annotations

import base64
import contextlib
import json
import mimetypes
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, cast
from urllib.parse import unquote, urlparse

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.nodes.file_content import read_file_content
from kawa.workflow.ports import FileOwner
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.values import is_file
from kawa.workflow.variable_pool import VariablePool

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
MAX_CONNECT_TIMEOUT_S, MAX_READ_TIMEOUT_S, MAX_WRITE_TIMEOUT_S = 10.0, 600.0, 600.0
MAX_BINARY_BYTES = 10 * 1024 * 1024
MAX_TEXT_BYTES = 1 * 1024 * 1024
_TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/yaml",
    "application/x-yaml",
    "application/ld+json",
    "application/problem+json",
    "application/graphql",
    "application/x-ndjson",
)


class HttpRequestNodeError(NodeError):
    pass


class InvalidURLError(HttpRequestNodeError):
    """The URL is empty or not http(s) (`file://`, `ftp://`...), refused before any connection, as Dify does."""


class HTTPResponseCodeError(HttpRequestNodeError):
    pass


class ResponseSizeError(HttpRequestNodeError):
    pass


class AuthorizationConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["basic", "bearer", "custom"] | None = None
    api_key: str = ""
    header: str | None = ""


class Authorization(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["no-auth", "api-key"] = "no-auth"
    config: AuthorizationConfig | None = None


class BodyItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str = ""
    type: Literal["text", "file"] = "text"
    value: str = ""
    file: list[str] = Field(default_factory=list)


class Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["none", "form-data", "x-www-form-urlencoded", "raw-text", "json", "binary"] = "none"
    data: list[BodyItem] = Field(default_factory=list)

    @field_validator("data", mode="before")
    @classmethod
    def _legacy_string(cls, value: Any) -> Any:  # old DSL: `data` was the raw body text
        if isinstance(value, str):
            return [{"type": "text", "value": value}]
        return value or []


class Timeout(BaseModel):
    model_config = ConfigDict(extra="allow")

    connect: float | None = None
    read: float | None = None
    write: float | None = None


class HttpRequestData(NodeData):
    method: str = "get"
    url: str = ""
    authorization: Authorization = Field(default_factory=Authorization)
    headers: str = ""
    params: str = ""
    body: Body | None = None
    timeout: Timeout | None = None
    ssl_verify: bool | None = True

    @field_validator("method", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def parse_lines(text: str) -> list[tuple[str, str]]:
    """Dify's "key:value" lines: one pair per non-blank line, split at the first colon, both sides stripped."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            pairs.append((key.strip(), value.strip()))
    return pairs


def _timeout(config: Timeout | None) -> httpx.Timeout:
    config = config or Timeout()

    def cap(value: float | None, ceiling: float) -> float:
        return min(value, ceiling) if value and value > 0 else ceiling

    return httpx.Timeout(
        connect=cap(config.connect, MAX_CONNECT_TIMEOUT_S),
        read=cap(config.read, MAX_READ_TIMEOUT_S),
        write=cap(config.write, MAX_WRITE_TIMEOUT_S),
        pool=MAX_CONNECT_TIMEOUT_S,
    )


def is_file_response(headers: httpx.Headers) -> bool:
    disposition = headers.get("content-disposition", "").lower()
    if disposition.startswith("attachment") or (disposition.startswith("inline") and "filename" in disposition):
        return True
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not content_type or content_type.startswith("text/") or content_type in _TEXT_TYPES:
        return False
    return not (content_type.endswith(("+json", "+xml")))


def _response_filename(response: httpx.Response, mime_type: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    match = re.search(r"filename\*=(?:UTF-8'')?([^;]+)", disposition, re.IGNORECASE) or re.search(
        r'filename="?([^";]+)"?', disposition, re.IGNORECASE
    )
    if match:
        return posixpath.basename(unquote(match.group(1).strip().strip('"'))) or "file"
    name = posixpath.basename(urlparse(str(response.url)).path)
    if name and "." in name:
        return name
    return (name or "file") + (mimetypes.guess_extension(mime_type) or ".bin")


class HttpRequestNode(Node[HttpRequestData]):
    node_type = "http-request"
    data_model = HttpRequestData

    def check(self) -> None:
        if self.data.method not in METHODS:
            raise NodeConfigError("method", f"unsupported HTTP method {self.data.method!r}")
        auth = self.data.authorization
        if auth.type == "api-key" and (auth.config is None or auth.config.type is None):
            raise NodeConfigError("authorization.config", "api-key authorization needs a config with a type")
        body = self.data.body
        if body is not None and body.type == "binary" and not (body.data and body.data[0].file):
            raise NodeConfigError("body.data[0].file", "a binary body needs a file selector")

    def extra_selectors(self) -> Iterator[tuple[str, Sequence[str]]]:
        body = self.data.body
        if body is None:
            return
        for index, item in enumerate(body.data):
            if item.file and (item.type == "file" or body.type == "binary"):
                yield f"body.data[{index}].file", item.file

    async def run(self, ctx: NodeContext) -> NodeResult:
        factory = ctx.services.http_client_factory
        if factory is None:
            raise HttpRequestNodeError("Outbound HTTP is not configured on this server.")
        pool = ctx.pool
        url = render_text(self.data.url, pool).strip()
        if not url:
            raise InvalidURLError("url is required")
        if not url.lower().startswith(("http://", "https://")):
            raise InvalidURLError("url should start with http:// or https://")
        params = [(render_text(k, pool), render_text(v, pool)) for k, v in parse_lines(self.data.params)]
        headers = {render_text(k, pool): render_text(v, pool) for k, v in parse_lines(self.data.headers)}
        secret_header = self._authorize(headers, pool)
        request_args = await self._body(ctx, headers)
        verify = self.data.ssl_verify is not False
        try:
            async with factory(verify=verify, timeout=_timeout(self.data.timeout)) as client:
                # httpx replaces a URL's query with `params`: keep the URL's own query and append the lines.
                target = httpx.URL(url)
                query = (*target.params.multi_items(), *params)
                request = client.build_request(
                    self.data.method.upper(), target, params=query, headers=headers, **request_args
                )
                response = await client.send(request, stream=True)
                try:
                    data, as_file = await self._read(response)
                finally:
                    await response.aclose()
        except httpx.TimeoutException as exc:
            raise HttpRequestNodeError(f"Request timed out: {exc or type(exc).__name__}") from exc
        except httpx.InvalidURL as exc:
            raise HttpRequestNodeError(f"Invalid URL {url!r}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise HttpRequestNodeError(f"Request failed: {exc or type(exc).__name__}") from exc
        process_data: dict[str, Any] = {"request": _request_log(request, secret_header)}
        outputs = await self._outputs(ctx, response, data, as_file, process_data)
        if not response.is_success and (self.data.error_strategy or self.data.retry_config.retry_enabled):
            raise HTTPResponseCodeError(f"Request failed with status code {response.status_code}")
        return NodeResult(inputs={"url": url}, outputs=outputs, process_data=process_data)

    def _authorize(self, headers: dict[str, str], pool: VariablePool) -> str | None:
        auth = self.data.authorization
        if auth.type != "api-key" or auth.config is None:
            return None
        key = render_text(auth.config.api_key, pool)
        header = auth.config.header or "Authorization"
        if auth.config.type == "bearer":
            headers[header] = f"Bearer {key}"
        elif auth.config.type == "basic":
            # "user:password" is encoded here; a value without a colon is taken as already encoded.
            headers[header] = "Basic " + (base64.b64encode(key.encode()).decode() if ":" in key else key)
        else:
            headers[header] = key
        return header

    async def _body(self, ctx: NodeContext, headers: dict[str, str]) -> dict[str, Any]:
        body = self.data.body
        if body is None or body.type == "none":
            return {}
        pool = ctx.pool
        first = body.data[0] if body.data else BodyItem()
        if body.type == "raw-text":
            return {"content": render_text(first.value, pool).encode()}
        if body.type == "json":
            text = render_text(first.value, pool)
            if not text.strip():
                return {}
            try:
                return {"json": json.loads(text, strict=False)}
            except ValueError as exc:
                raise HttpRequestNodeError(f"Invalid JSON body: {exc}") from exc
        if body.type == "x-www-form-urlencoded":
            return {"data": {render_text(i.key, pool): render_text(i.value, pool) for i in body.data if i.key}}
        if body.type == "binary":
            files = self._files(pool, first.file)
            if not files:
                raise HttpRequestNodeError(f"cannot fetch file with selector {first.file}")
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = str(files[0].get("mime_type") or "application/octet-stream")
            return {"content": await read_file_content(ctx, files[0])}
        text_fields = {
            render_text(i.key, pool): render_text(i.value, pool) for i in body.data if i.type == "text" and i.key
        }
        uploads: list[tuple[str, tuple[str, bytes, str]]] = []
        for item in body.data:
            if item.type == "file" and item.key:
                for file in self._files(pool, item.file):
                    content = await read_file_content(ctx, file)
                    uploads.append(
                        (
                            render_text(item.key, pool),
                            (
                                str(file.get("filename") or "file"),
                                content,
                                str(file.get("mime_type") or "application/octet-stream"),
                            ),
                        )
                    )
        # httpx sends multipart only with files; an empty file list would silently become urlencoded.
        if not uploads:
            return {"files": [(key, (None, value.encode(), "text/plain")) for key, value in text_fields.items()]}
        return {"data": text_fields, "files": uploads}

    @staticmethod
    def _files(pool: VariablePool, selector: Sequence[str]) -> list[Mapping[str, Any]]:
        value = pool.get(selector) if selector else None
        if is_file(value):
            return [cast(Mapping[str, Any], value)]
        if isinstance(value, list):
            return [item for item in value if is_file(item)]
        return []

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        as_file = is_file_response(response.headers)
        limit = MAX_BINARY_BYTES if as_file else MAX_TEXT_BYTES
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(as_file, limit, int(declared))
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_large(as_file, limit, size)
            chunks.append(chunk)
        return b"".join(chunks), as_file

    @staticmethod
    def _too_large(as_file: bool, limit: int, size: int) -> ResponseSizeError:
        return ResponseSizeError(
            f"{'File' if as_file else 'Text'} size is too large, max size is {limit / 1024 / 1024:.2f} MB, "
            f"but current size is {'at least ' if size > limit else ''}{size / 1024 / 1024:.2f} MB."
        )

    async def _outputs(
        self, ctx: NodeContext, response: httpx.Response, data: bytes, as_file: bool, process_data: dict[str, Any]
    ) -> dict[str, Any]:
        headers = dict(response.headers)
        outputs: dict[str, Any] = {"status_code": response.status_code, "body": "", "headers": headers, "files": []}
        if not as_file:
            outputs["body"] = data.decode(response.encoding or "utf-8", errors="replace")
            return outputs
        mime_type = response.headers.get("content-type", "application/octet-stream").split(";", 1)[0].strip()
        saver = ctx.services.file_saver
        if saver is None:
            process_data["file_response"] = {
                "size": len(data),
                "mime_type": mime_type,
                "note": "no file storage configured; the file was not kept",
            }
            return outputs
        system = ctx.pool.system
        owner = FileOwner(app_id=str(system.get("app_id") or ""), user_id=str(system.get("user_id") or ""))
        filename = _response_filename(response, mime_type)
        outputs["files"] = [await saver.save(data, filename=filename, mime_type=mime_type, owner=owner)]
        return outputs


def _request_log(request: httpx.Request, secret_header: str | None) -> str:
    """The request as raw HTTP text for tracing, with the authorization value masked."""
    lines = [f"{request.method} {request.url.raw_path.decode()} HTTP/1.1"]
    for name, value in request.headers.items():
        shown = "*" * len(value) if secret_header and name.lower() == secret_header.lower() else value
        lines.append(f"{name}: {shown}")
    body = b""
    with contextlib.suppress(httpx.RequestNotRead):
        body = request.content
    text = body.decode("utf-8", errors="replace") if len(body) <= 4096 else f"<{len(body)} bytes>"
    return "\r\n".join(lines) + "\r\n\r\n" + text
