"""The server's logging: `kawa.telemetry.logs` configured from the settings, with every secret the settings hold
(secret key, provider keys and headers, storage and MCP credentials, database and Redis passwords, the metrics
token) handed to the redactor, so no log line carries one."""

from __future__ import annotations

import logging.config
from typing import Any

from sqlalchemy.engine import make_url

from kawa.settings import Settings
from kawa.telemetry.logs import log_config


def secret_values(settings: Settings) -> list[str]:
    values: list[str] = []
    if settings.secret_key is not None:
        values.append(settings.secret_key.get_secret_value())
    for provider in settings.models.providers.values():
        values.extend(provider.secrets())
    if settings.storage.s3_secret_access_key is not None:
        values.append(settings.storage.s3_secret_access_key.get_secret_value())
    if settings.telemetry.metrics_token is not None:
        values.append(settings.telemetry.metrics_token.get_secret_value())
    for server in settings.mcp.servers.values():
        values.extend(server.headers.values())
    for url in (settings.database_url, settings.redis_url):
        if url:
            try:
                password = make_url(url).password
            except Exception:  # not a URL SQLAlchemy reads (a redis:// one it may not): nothing to add
                password = None
            if password:
                values.append(str(password))
    return values


def server_log_config(settings: Settings) -> dict[str, Any]:
    return log_config(settings.log_level, settings.telemetry.log_format, secret_values(settings))


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(server_log_config(settings))
