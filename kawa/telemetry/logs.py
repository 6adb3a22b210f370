"""Structured logs: one line per record, JSON (for collectors) or plain (for a terminal), each carrying the request
id and, on lines about a run, its app id, run id, task id and end user (from contextvars, so no call site passes
them). Every line goes through `Redactor` first: API keys, bearer tokens and the configured secrets never reach a log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any, Literal

from kawa.errors import REQUEST_ID, TASK_ID
from kawa.telemetry.context import LOG_FIELDS

REDACTED = "[redacted]"
# kawa's and Dify's key shapes, bearer credentials and `sk-` style provider keys, wherever they appear in a line.
_KEY_SHAPES = r"\b(?:app|dataset)-[A-Za-z0-9]{16,}|(?<=Bearer )[^\s\"',]+|\bsk-[A-Za-z0-9_\-]{12,}"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class Redactor:
    """Masks key-shaped strings and the given secret values (4 characters or longer) in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        alternatives = [re.escape(v) for v in values] + [_KEY_SHAPES]
        self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text)


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if (request_id := REQUEST_ID.get()) is not None:
        fields["request_id"] = request_id
    if (task_id := TASK_ID.get()) is not None:
        fields["task_id"] = task_id
    fields.update(LOG_FIELDS.get() or {})
    # `extra=` values of the call site
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **context_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


class PlainFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = context_fields(record)
        if fields:
            line += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return self.redact(line)


def log_config(
    level: str, fmt: Literal["auto", "json", "plain"], secrets: Iterable[str] = (), *, stream: Any = None
) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server (uvicorn's loggers included): one handler on stderr."""
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    redact = Redactor(secrets)
    formatter = JsonFormatter(redact) if use_json else PlainFormatter(redact)
    handler = {"class": "logging.StreamHandler", "stream": stream, "formatter": "kawa"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"kawa": {"()": lambda: formatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "kawa")
        },
    }
