"""Charts as Dify's chart plugins draw them, from `;`-separated numbers and labels.

`chart` (`langgenius/chart`): bar, line and pie charts rendered to PNG files with matplotlib (an object-oriented
`Figure` per call, never pyplot's global state, so calls from several threads do not mix). `echarts`
(`langgenius/echarts`): the same charts as an ```echarts option block in the text, which Dify's chat UI draws.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

from kawa.tools.tool import BuiltinTool, ToolError, ToolFile, ToolOutput, object_schema, text_argument

MAX_POINTS = 1000
LABEL_CHARS = 10


def numbers(args: Mapping[str, Any]) -> list[float]:
    items = [item.strip() for item in text_argument(args, "data").split(";") if item.strip()]
    if len(items) > MAX_POINTS:
        raise ToolError(f"Too many data points: at most {MAX_POINTS}.")
    try:
        values = [float(item) for item in items]
    except ValueError as e:
        raise ToolError(f"Invalid parameter data: numbers separated by ';' ({e})") from e
    return [int(v) if v.is_integer() else v for v in values]


def labels(args: Mapping[str, Any], name: str, count: int) -> list[str] | None:
    """The labels of `name`, or None when absent or not one per value (Dify then draws without them)."""
    text = text_argument(args, name, required=False)
    items = [item.strip() for item in text.split(";")] if text.strip() else []
    return items if len(items) == count else None


def _png(draw: Callable[[Any], None]) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 8))
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _short(items: list[str]) -> list[str]:
    return [item[:LABEL_CHARS] + "..." if len(item) > LABEL_CHARS else item for item in items]


def _axis_chart(args: Mapping[str, Any], kind: str) -> ToolOutput:
    values = numbers(args)
    axis = labels(args, "x_axis", len(values))

    def draw(ax: Any) -> None:
        positions = list(range(len(values)))
        (ax.bar if kind == "bar" else ax.plot)(positions, values)
        if axis:
            ax.set_xticks(positions)
            ax.set_xticklabels(_short(axis), rotation=45, ha="right")

    word = "bar" if kind == "bar" else "linear"
    return ToolOutput(
        f"the {word} chart is saved as an image.", files=[ToolFile(_png(draw), f"{kind}_chart.png", "image/png")]
    )


def bar_chart(args: Mapping[str, Any]) -> ToolOutput:
    return _axis_chart(args, "bar")


def line_chart(args: Mapping[str, Any]) -> ToolOutput:
    return _axis_chart(args, "line")


def pie_chart(args: Mapping[str, Any]) -> ToolOutput:
    values = numbers(args)
    if any(v < 0 for v in values) or not sum(values):
        raise ToolError("Invalid parameter data: a pie chart needs non-negative numbers that are not all zero.")
    categories = labels(args, "categories", len(values))

    def draw(ax: Any) -> None:
        ax.pie(values, labels=categories, autopct="%1.1f%%")

    return ToolOutput("the pie chart is saved as an image.", files=[ToolFile(_png(draw), "pie_chart.png", "image/png")])


def _echarts(option: dict[str, Any]) -> ToolOutput:
    return ToolOutput(f"```echarts\n{json.dumps(option, indent=2, ensure_ascii=False)}\n```")


def echarts_axis(args: Mapping[str, Any], kind: str) -> ToolOutput:
    axis = [item for item in text_argument(args, "x_axis").split(";")]
    series: dict[str, Any] = {"data": numbers(args), "type": kind}
    if kind == "line":
        series["smooth"] = True
    return _echarts(
        {
            "title": {"left": "center", "text": text_argument(args, "title", required=False)},
            "tooltip": {"trigger": "axis", "axisPointer": {"type": "cross"}},
            "xAxis": {"type": "category", "data": axis},
            "yAxis": {"type": "value"},
            "series": [series],
        }
    )


def echarts_pie(args: Mapping[str, Any]) -> ToolOutput:
    values = numbers(args)
    categories = [item for item in text_argument(args, "categories").split(";")]
    return _echarts(
        {
            "title": {"text": text_argument(args, "title", required=False), "left": "center"},
            "tooltip": {"trigger": "item"},
            "legend": {"orient": "vertical", "left": "left"},
            "series": [
                {
                    "type": "pie",
                    "radius": "50%",
                    "data": [{"value": v, "name": n} for v, n in zip(values, categories, strict=False)],
                }
            ],
        }
    )


_S = {"type": "string"}
_DATA = {"type": "string", "description": "numbers separated by ';'"}
_AXIS = {"type": "string", "description": "labels separated by ';'"}


def _tool(
    provider: str,
    name: str,
    label: str,
    run: Callable[[Mapping[str, Any]], ToolOutput],
    props: dict[str, Any],
    required: list[str],
) -> BuiltinTool:
    return BuiltinTool(provider, name, label, f"{label}.", object_schema(props, required), run)


CHART_TOOLS = (
    _tool("chart", "bar_chart", "Bar Chart", bar_chart, {"data": _DATA, "x_axis": _AXIS}, ["data"]),
    _tool("chart", "line_chart", "Linear Chart", line_chart, {"data": _DATA, "x_axis": _AXIS}, ["data"]),
    _tool("chart", "pie_chart", "Pie Chart", pie_chart, {"data": _DATA, "categories": _AXIS}, ["data", "categories"]),
    _tool(
        "echarts",
        "bar_chart",
        "Bar Chart",
        lambda args: echarts_axis(args, "bar"),
        {"title": _S, "data": _DATA, "x_axis": _AXIS},
        ["title", "data", "x_axis"],
    ),
    _tool(
        "echarts",
        "line_chart",
        "Linear Chart",
        lambda args: echarts_axis(args, "line"),
        {"title": _S, "data": _DATA, "x_axis": _AXIS},
        ["title", "data", "x_axis"],
    ),
    _tool(
        "echarts",
        "pie_chart",
        "Pie Chart",
        echarts_pie,
        {"title": _S, "data": _DATA, "categories": _AXIS},
        ["title", "data", "categories"],
    ),
)
