"""The one settings object: environment variables (`KAWA_*`, nested with `__`) over an optional `kawa.toml`.

Each package owns its section (`kawa.files.settings.UploadSettings`, `kawa.workflow.settings.WorkflowSettings`, ...);
this module only composes them, so nothing below it imports it. The README's settings table is generated from the
field descriptions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kawa.files.settings import StorageSettings, UploadSettings
from kawa.knowledge.settings import KnowledgeSettings
from kawa.models.settings import ModelsSettings
from kawa.net.settings import HttpRequestSettings
from kawa.sandbox.settings import SandboxSettings
from kawa.store.settings import DatabaseSettings, LeaseSettings
from kawa.telemetry.settings import TelemetrySettings
from kawa.tools.mcp.settings import McpSettings
from kawa.workflow.settings import WorkflowSettings

__all__ = [
    "HttpRequestSettings",
    "KnowledgeSettings",
    "Settings",
    "StorageSettings",
    "UploadSettings",
    "WorkflowSettings",
    "describe_settings",
    "settings_markdown",
]


class Settings(BaseSettings):
    """Everything kawa can be told. Env: `KAWA_<FIELD>`, sections `KAWA_<SECTION>__<FIELD>`; file: `kawa.toml`."""

    model_config = SettingsConfigDict(
        env_prefix="KAWA_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(Path(".kawa"), description="Data directory: the SQLite database and uploaded files.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: SQLite (WAL) in KAWA_HOME. PostgreSQL: `postgresql+psycopg://...`.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for multi-process deployments: cross-process stop, rate limits."
    )
    host: str = Field("127.0.0.1", description="Address `kawa serve` listens on.")
    port: int = Field(5001, ge=1, le=65535, description="Port `kawa serve` listens on.")
    public_url: str | None = Field(
        None, description="Base URL clients reach kawa at (for file URLs). Default: http://HOST:PORT."
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs file preview URLs. Default: a random key kept in KAWA_HOME/secret_key."
    )
    log_level: str = Field("info", description="Log level of the server.")
    max_active_requests: int = Field(
        0, ge=0, description="Concurrent runs per app (0 = unlimited); over it: 429 too_many_requests."
    )
    max_request_mb: int = Field(
        100,
        ge=1,
        description="Largest request body in MB (uploads included), refused while it is read: 413 "
        "request_entity_too_large.",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    upload: UploadSettings = Field(default_factory=UploadSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    workflow: WorkflowSettings = Field(default_factory=WorkflowSettings)
    http_request: HttpRequestSettings = Field(default_factory=HttpRequestSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    leases: LeaseSettings = Field(default_factory=LeaseSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, how long runs and messages in progress may take to finish; then their streams end "
        "with an error event and they are recorded failed.",
    )
    _signing_key: bytes | None = PrivateAttr(None)  # read once: it is needed for every file URL

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("KAWA_CONFIG", "kawa.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'kawa.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_mb * 1024 * 1024

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def signing_key(self) -> bytes:
        """The key for signed file URLs; created once per KAWA_HOME when not configured."""
        if self._signing_key is None:
            self._signing_key = self._load_signing_key()
        return self._signing_key

    def _load_signing_key(self) -> bytes:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(os.urandom(32).hex())
        return path.read_text().strip().encode()


def describe_settings(model: type[BaseModel] = Settings, prefix: str = "KAWA_") -> list[tuple[str, str, str]]:
    """(env var, default, description) for every setting, sections flattened; used for the README table."""
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(describe_settings(annotation, f"{prefix}{name.upper()}__"))
            continue
        default = field.get_default(call_default_factory=True)
        shown = str(default) if isinstance(default, Path) else "" if default is None else repr(default)
        rows.append((f"{prefix}{name.upper()}", shown, field.description or ""))
    return rows


def settings_markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for env, default, text in describe_settings():
        lines.append(f"| `{env}` | {f'`{default}`' if default else '—'} | {text} |")
    return "\n".join(lines) + "\n"
