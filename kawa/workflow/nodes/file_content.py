"""Reading the bytes of a file value (Dify's `File.to_dict` mapping) for nodes that consume files.

Uploaded files (`local_file`, `tool_file`) come from `NodeServices.file_reader`; `remote_url` files are downloaded
through the SSRF-guarded client of `NodeServices.http_client_factory`, with a size cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kawa.workflow.errors import NodeError
from kawa.workflow.runtime import NodeContext

MAX_REMOTE_FILE_BYTES = 15 * 1024 * 1024


class FileDownloadError(NodeError):
    pass


async def read_file_content(
    ctx: NodeContext, file: Mapping[str, Any], *, max_bytes: int = MAX_REMOTE_FILE_BYTES
) -> bytes:
    """The content of `file`; raises `FileDownloadError` with Dify's wording when it cannot be had."""
    if file.get("transfer_method") == "remote_url":
        url = file.get("remote_url") or file.get("url")
        if not url:
            raise FileDownloadError("Error downloading file: Missing URL for remote file")
        return await _download(ctx, str(url), max_bytes)
    reader = ctx.services.file_reader
    file_id = file.get("related_id") or file.get("id")
    if reader is None:
        raise FileDownloadError("Error downloading file: no file storage is configured")
    if not file_id:
        raise FileDownloadError("Error downloading file: the file has no id")
    try:
        data = await reader(str(file_id))
    except NodeError:
        raise
    except Exception as exc:
        raise FileDownloadError(f"Error downloading file: {exc}") from exc
    return data


async def _download(ctx: NodeContext, url: str, max_bytes: int) -> bytes:
    factory = ctx.services.http_client_factory
    if factory is None:
        raise FileDownloadError("Error downloading file: outbound HTTP is not configured")
    try:
        async with factory() as client, client.stream("GET", url) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FileDownloadError(f"Error downloading file: larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except FileDownloadError:
        raise
    except Exception as exc:
        raise FileDownloadError(f"Error downloading file: {exc}") from exc
