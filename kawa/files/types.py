"""File kinds of the Service API (document, image, audio, video) and their extensions, from the spec."""

from __future__ import annotations

import mimetypes

EXTENSIONS: dict[str, frozenset[str]] = {
    "document": frozenset(
        {
            "txt",
            "md",
            "markdown",
            "mdx",
            "pdf",
            "html",
            "htm",
            "xlsx",
            "xls",
            "docx",
            "csv",
            "eml",
            "msg",
            "pptx",
            "ppt",
            "xml",
            "epub",
            "json",
            "yaml",
            "yml",
            "vtt",
            "properties",
        }
    ),
    "image": frozenset({"jpg", "jpeg", "png", "gif", "webp", "svg"}),
    "audio": frozenset({"mp3", "m4a", "wav", "webm", "amr", "mpga"}),
    "video": frozenset({"mp4", "mov", "mpeg"}),
}


def file_kind(extension: str) -> str | None:
    """`document`, `image`, `audio`, `video`, or None for an extension kawa does not accept."""
    ext = extension.lower()
    for kind, extensions in EXTENSIONS.items():
        if ext in extensions:
            return kind
    return None


def guess_mime(filename: str, declared: str | None) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    if declared and declared != "application/octet-stream":
        return declared
    return guessed or declared or "application/octet-stream"
