"""Embedded text-to-speech: eSpeak NG from the `espeakng-loader` package through ctypes (optional extra `kawa[tts]`:
libespeak-ng is GPL-3, so it is never a core dependency). MP3 through PyAV when installed, else WAV."""

from __future__ import annotations

import ctypes
import importlib.util
import io
import threading
import wave
from typing import Any

from kawa.models.types import Speech

MODEL_NAME = "espeak-ng"
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def available() -> bool:
    return importlib.util.find_spec("espeakng_loader") is not None


def can_encode_mp3() -> bool:
    return importlib.util.find_spec("av") is not None


class _Library:
    """libespeak-ng has process-wide state (one callback, one voice), so the process holds one handle to it and
    every synthesis runs under its lock."""

    lock = threading.Lock()
    handle: ctypes.CDLL | None = None
    sample_rate = 22050
    buffer: list[bytes] = []  # noqa: RUF012 - filled by the C callback, under `lock`

    @staticmethod
    def _collect(wav: Any, count: int, events: Any) -> int:
        if wav and count > 0:
            _Library.buffer.append(ctypes.string_at(wav, count * 2))
        return 0

    callback = _SynthCallback(_collect)

    @classmethod
    def loaded(cls) -> ctypes.CDLL:
        """Called with `lock` held."""
        if cls.handle is None:
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetVoiceByName.restype = ctypes.c_int
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_Synth.argtypes = [
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.c_uint,
                ctypes.c_int,
                ctypes.c_uint,
                ctypes.c_uint,
                ctypes.c_void_p,
                ctypes.c_void_p,
            ]
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
            if rate <= 0:
                raise RuntimeError("eSpeak NG failed to initialise")
            lib.espeak_SetSynthCallback(cls.callback)
            cls.sample_rate = rate
            cls.handle = lib
        return cls.handle


class EspeakSynthesizer:
    def __init__(self, voice: str = "en-us") -> None:
        self._voice = voice

    def synthesize_pcm(self, text: str, voice: str | None = None, words_per_minute: int = 165) -> tuple[bytes, int]:
        """16-bit mono PCM and its sample rate. Blocking: call it from a worker thread.

        An unknown voice (e.g. an OpenAI voice name such as `alloy`) falls back to the configured one."""
        data = text.encode("utf-8") + b"\0"
        with _Library.lock:
            lib = _Library.loaded()
            if not voice or lib.espeak_SetVoiceByName(voice.encode()) != 0:
                lib.espeak_SetVoiceByName(self._voice.encode())
            lib.espeak_SetParameter(_ESPEAK_RATE, words_per_minute, 0)
            _Library.buffer = []
            buf = ctypes.create_string_buffer(data)
            lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            pcm = b"".join(_Library.buffer)
            _Library.buffer = []
            rate = _Library.sample_rate
        return pcm, rate

    def synthesize(self, text: str, voice: str | None = None, audio_format: str = "mp3") -> Speech:
        pcm, rate = self.synthesize_pcm(text, voice)
        duration = len(pcm) / 2 / rate
        if audio_format == "mp3" and can_encode_mp3():
            return Speech(audio=encode_mp3(pcm, rate), mime_type="audio/mpeg", sample_rate=rate, duration_s=duration)
        return Speech(audio=encode_wav(pcm, rate), mime_type="audio/wav", sample_rate=rate, duration_s=duration)


def encode_wav(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()


def encode_mp3(pcm: bytes, rate: int) -> bytes:
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream: Any = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        samples = np.frombuffer(pcm, dtype=np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
