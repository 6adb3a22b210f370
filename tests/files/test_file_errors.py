"""The one set of file errors: each carries Dify's code, HTTP status and default message."""

from __future__ import annotations

import pytest

from kawa.errors import (
    AudioTooLarge,
    FilenameMissing,
    FileNotFound,
    FileTooLarge,
    KawaError,
    NoAudioUploaded,
    NoFileUploaded,
    TooManyFiles,
    UnsupportedAudioType,
    UnsupportedFileTypeError,
)


@pytest.mark.parametrize(
    ("error", "code", "status", "message"),
    [
        (NoFileUploaded, "no_file_uploaded", 400, "Please upload your file."),
        (TooManyFiles, "too_many_files", 400, "Only one file is allowed."),
        (FilenameMissing, "filename_not_exists_error", 400, "The file name is missing."),
        (FileTooLarge, "file_too_large", 413, "File size exceeded."),
        (FileNotFound, "file_not_found", 404, "File not found."),
        (UnsupportedFileTypeError, "unsupported_file_type", 415, "Unsupported file type."),
        (NoAudioUploaded, "no_audio_uploaded", 400, "Please upload your audio."),
        (AudioTooLarge, "audio_too_large", 413, "Audio size exceeded: at most 30 MB."),
        (UnsupportedAudioType, "unsupported_audio_type", 415, "Audio type not allowed."),
    ],
)
def test_file_errors_carry_difys_code_status_and_message(
    error: type[KawaError], code: str, status: int, message: str
) -> None:
    raised = error()
    assert (raised.code, raised.status, raised.message) == (code, status, message)


def test_the_knowledge_api_raises_the_same_upload_errors_as_files_upload() -> None:
    from kawa.knowledge import errors as knowledge_errors

    assert knowledge_errors.NoFileUploaded is NoFileUploaded
    assert knowledge_errors.TooManyFiles is TooManyFiles
    assert knowledge_errors.FileTooLarge is FileTooLarge
