"""Dify's built-in `time` provider: the current time, the weekday of a date, timezone conversion."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kawa.tools.tool import BuiltinTool, ToolError, ToolOutput, object_schema


def _zone(name: str | None) -> ZoneInfo | None:
    if not name or name == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ToolError(f"Invalid timezone: {name}") from e


def current_time(args: Mapping[str, Any]) -> ToolOutput:
    zone = _zone(args.get("timezone"))
    fmt = args.get("format") or "%Y-%m-%d %H:%M:%S %Z"
    return ToolOutput(datetime.now(zone or UTC).strftime(fmt))


def weekday(args: Mapping[str, Any]) -> ToolOutput:
    try:
        day = datetime(int(args["year"]), int(args["month"]), int(args["day"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ToolError("Invalid date: give year, month and day as numbers.") from e
    return ToolOutput(f"{day.strftime('%B')} {day.day}, {day.year} is {day.strftime('%A')}.")


def timezone_conversion(args: Mapping[str, Any]) -> ToolOutput:
    try:
        moment = datetime.strptime(str(args["current_time"]), "%Y-%m-%d %H:%M:%S")
    except (KeyError, ValueError) as e:
        raise ToolError("current_time must look like 2024-01-31 13:45:00.") from e
    source = _zone(args.get("current_timezone")) or UTC
    target = _zone(args.get("target_timezone")) or UTC
    return ToolOutput(moment.replace(tzinfo=source).astimezone(target).strftime("%Y-%m-%d %H:%M:%S %Z"))


TIME_TOOLS = (
    BuiltinTool(
        "time",
        "current_time",
        "Current Time",
        "Get the current time in a timezone.",
        object_schema(
            {
                "format": {"type": "string", "description": "strftime format"},
                "timezone": {"type": "string", "description": "IANA timezone, e.g. Asia/Tokyo"},
            },
            [],
        ),
        current_time,
    ),
    BuiltinTool(
        "time",
        "weekday",
        "Weekday Calculator",
        "The weekday of a date.",
        object_schema(
            {"year": {"type": "number"}, "month": {"type": "number"}, "day": {"type": "number"}},
            ["year", "month", "day"],
        ),
        weekday,
    ),
    BuiltinTool(
        "time",
        "timezone_conversion",
        "Timezone Conversion",
        "Convert a time between timezones.",
        object_schema(
            {
                "current_time": {"type": "string", "description": "YYYY-MM-DD HH:MM:SS"},
                "current_timezone": {"type": "string"},
                "target_timezone": {"type": "string"},
            },
            ["current_time", "target_timezone"],
        ),
        timezone_conversion,
    ),
)
