"""`SandboxSettings`: the code sandbox's section of the settings, nested into `kawa.settings.Settings` as `sandbox`
(env `KAWA_SANDBOX__...`); `OutputLimits` are the limits a code node's result is checked against."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class OutputLimits(BaseModel):
    """Limits on a code node's result, Dify's `CODE_MAX_*` values by default."""

    max_string_length: int = Field(default=400_000, ge=1, description="Longest string output, in characters.")
    max_number: int = Field(default=2**63 - 1, description="Largest number output.")
    min_number: int = Field(default=-(2**63 - 1), description="Smallest number output.")
    max_precision: int = Field(default=20, ge=0, description="Most digits after the point of a float output.")
    max_depth: int = Field(default=5, ge=1, description="Deepest nesting of object outputs.")
    max_string_array_length: int = Field(default=30, ge=0, description="Most items of an array[string] output.")
    max_object_array_length: int = Field(default=30, ge=0, description="Most items of an array[object] output.")
    max_number_array_length: int = Field(default=1000, ge=0, description="Most items of an array[number] output.")


class SandboxSettings(BaseModel):
    """Out-of-process execution of code nodes (python3 and javascript)."""

    python_workers: int = Field(default=2, ge=0, description="Warm python3 workers (slots; also the concurrency).")
    javascript_workers: int = Field(default=1, ge=0, description="Warm javascript (node) workers (slots).")
    timeout_s: float = Field(default=15.0, gt=0, description="Wall-time limit of one code run, in seconds.")
    memory_mb: int = Field(default=512, ge=32, description="Memory limit of one code run, in MB.")
    max_output_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="Largest serialised result.")
    max_runs_per_worker: int = Field(
        default=200,
        ge=1,
        description="Runs after which a javascript worker is replaced (python3 forks a fresh child per run, from a "
        "zygote that is kept).",
    )
    node_path: str = Field(default="node", description="The node executable for javascript code nodes.")
    sandbox_uid: int = Field(
        default=1_950_000_000,
        ge=1,
        description="First uid workers switch to when kawa runs as root (one uid per worker slot).",
    )
    namespaces: bool = Field(default=True, description="Use Linux namespaces and an empty root where allowed.")
    packages: list[str] = Field(
        default_factory=list,
        description="Extra pip requirements python3 code nodes may import, besides requests, httpx, jinja2 and "
        "PySocks (installed by `kawa sandbox install`, or at start when the list changes).",
    )
    environment_dir: Path | None = Field(
        default=None,
        description="Where the code sandbox's package environments are kept. Default: ~/.cache/kawa/sandbox "
        "(as root: /var/cache/kawa/sandbox).",
    )
    network: bool = Field(
        default=True,
        description="Let code nodes make HTTP(S) requests through kawa's proxy, under the http-request SSRF policy.",
    )
    limits: OutputLimits = Field(default_factory=OutputLimits)
