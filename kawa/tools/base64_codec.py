"""Base64 tools (`bowenliang123/base64_codec`): text and files to and from Base64, and Base64 to and from hex."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Callable, Mapping
from typing import Any

from kawa.tools.tool import (
    BuiltinTool,
    ToolError,
    ToolFile,
    ToolOutput,
    flag_argument,
    input_files,
    object_schema,
    output_name,
    text_argument,
)

PROVIDER = "base64_codec"
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,", re.IGNORECASE)
_IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def _decode(text: str, urlsafe: bool) -> bytes:
    cleaned = "".join(text.split())
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(cleaned)
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ToolError(f"Invalid Base64 text: {e}") from e


def _encode(data: bytes, urlsafe: bool) -> str:
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode("ascii")


def base64_encoder(args: Mapping[str, Any]) -> ToolOutput:
    text = text_argument(args, "plain_text")
    return ToolOutput(_encode(text.encode(), flag_argument(args, "urlsafe_enabled", False)))


def base64_decoder(args: Mapping[str, Any]) -> ToolOutput:
    data = _decode(text_argument(args, "encoded_text"), flag_argument(args, "urlsafe_enabled", False))
    try:
        return ToolOutput(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ToolError("The decoded bytes are not UTF-8 text: use base64_file_decoder for binary data.") from e


def base64_to_hex(args: Mapping[str, Any]) -> ToolOutput:
    return ToolOutput(_decode(text_argument(args, "encoded_text"), flag_argument(args, "urlsafe_enabled", False)).hex())


def hex_to_base64(args: Mapping[str, Any]) -> ToolOutput:
    text = "".join(text_argument(args, "hex_text").split()).removeprefix("0x")
    try:
        data = bytes.fromhex(text)
    except ValueError as e:
        raise ToolError(f"Invalid hexadecimal text: {e}") from e
    return ToolOutput(_encode(data, flag_argument(args, "urlsafe_enabled", False)))


def _segments(args: Mapping[str, Any]) -> list[str]:
    splitter = args.get("splitter_str")
    text = text_argument(args, "encoded_text")
    parts = text.split(splitter) if isinstance(splitter, str) and splitter else [text]
    return [part.strip() for part in parts if part.strip()]


def _names(args: Mapping[str, Any]) -> list[str]:
    return [line.strip() for line in text_argument(args, "output_filename", required=False).splitlines() if line]


def base64_file_decoder(args: Mapping[str, Any]) -> ToolOutput:
    names = _names(args)
    files = []
    for index, segment in enumerate(_segments(args)):
        match = _DATA_URL.match(segment)
        mime = match.group("mime") if match else "application/octet-stream"
        data = _decode(segment[match.end() :] if match else segment, False)
        name = names[index] if index < len(names) else f"file_{index + 1}"
        guessed, _ = mimetypes.guess_type(name)
        files.append(ToolFile(data, name, guessed or mime))
    return ToolOutput("", files=files)


def base64_image_decoder(args: Mapping[str, Any]) -> ToolOutput:
    names = _names(args)
    files = []
    for index, segment in enumerate(_segments(args)):
        match = _DATA_URL.match(segment)
        mime = match.group("mime").lower() if match else "image/png"
        data = _decode(segment[match.end() :] if match else segment, False)
        extension = _IMAGE_EXTENSIONS.get(mime, "png")
        name = output_name(names[index] if index < len(names) else "", f"image_{index + 1}", extension)
        files.append(ToolFile(data, name, mime if mime in _IMAGE_EXTENSIONS else "image/png"))
    return ToolOutput("", files=files)


def base64_file_encoder(args: Mapping[str, Any]) -> ToolOutput:
    files = input_files(args, "input_file")
    if not files:
        raise ToolError("Invalid parameter input_file: give a file.")
    return ToolOutput("\n\n".join(_encode(file.content, False) for file in files))


def base64_image_encoder(args: Mapping[str, Any]) -> ToolOutput:
    files = input_files(args, "input_image")
    if not files:
        raise ToolError("Invalid parameter input_image: give an image file.")
    return ToolOutput("\n\n".join(f"data:{f.mime_type};base64,{_encode(f.content, False)}" for f in files))


_URLSAFE = {"type": "string", "enum": ["true", "false"], "description": "Use the URL-safe alphabet"}
_TEXT = {"type": "string"}
_SPLIT = {"type": "string", "description": "Delimiter between Base64 segments (one file each)"}


def _tool(
    name: str,
    label: str,
    run: Callable[[Mapping[str, Any]], ToolOutput],
    properties: dict[str, Any],
    required: list[str],
) -> BuiltinTool:
    files = frozenset(k for k in properties if k in ("input_file", "input_image"))
    return BuiltinTool(PROVIDER, name, label, label, object_schema(properties, required), run, files)


BASE64_TOOLS = (
    _tool(
        "base64_encoder",
        "Text to Base64",
        base64_encoder,
        {"plain_text": _TEXT, "urlsafe_enabled": _URLSAFE},
        ["plain_text"],
    ),
    _tool(
        "base64_decoder",
        "Base64 to text",
        base64_decoder,
        {"encoded_text": _TEXT, "urlsafe_enabled": _URLSAFE},
        ["encoded_text"],
    ),
    _tool(
        "base64_to_hex",
        "Base64 to hex",
        base64_to_hex,
        {"encoded_text": _TEXT, "urlsafe_enabled": _URLSAFE},
        ["encoded_text"],
    ),
    _tool(
        "hex_to_base64", "Hex to Base64", hex_to_base64, {"hex_text": _TEXT, "urlsafe_enabled": _URLSAFE}, ["hex_text"]
    ),
    _tool(
        "base64_file_decoder",
        "Base64 to file(s)",
        base64_file_decoder,
        {"encoded_text": _TEXT, "output_filename": _TEXT, "splitter_str": _SPLIT},
        ["encoded_text"],
    ),
    _tool(
        "base64_image_decoder",
        "Base64 to image file(s)",
        base64_image_decoder,
        {"encoded_text": _TEXT, "output_filename": _TEXT, "splitter_str": _SPLIT},
        ["encoded_text"],
    ),
    _tool(
        "base64_file_encoder", "File to Base64", base64_file_encoder, {"input_file": {"type": "string"}}, ["input_file"]
    ),
    _tool(
        "base64_image_encoder",
        "Image to Base64",
        base64_image_encoder,
        {"input_image": {"type": "string"}},
        ["input_image"],
    ),
)
