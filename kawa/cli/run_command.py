"""`kawa run`: run a workflow DSL file in this process, without a server or a database.

Node progress goes to stderr as it happens, the workflow's streamed text and outputs to stdout. The workflow engine,
the model runtime and the code sandbox are imported only when this command runs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kawa.errors import KawaError

if TYPE_CHECKING:
    from kawa.workflow.events import EngineEvent

FINISHED_MARKS = {"succeeded": "✔", "exception": "!", "stopped": "■"}


def run_workflow(
    file: Annotated[Path, typer.Argument(help="A workflow app export (DSL YAML).", exists=True, dir_okay=False)],
    inputs: Annotated[list[str] | None, typer.Option("-i", "--input", help="name=value (JSON, or @file).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the final result as JSON.")] = False,
) -> None:
    """Run a workflow from the terminal, without a server: node progress live, outputs at the end."""
    try:
        result = asyncio.run(_run(file.read_bytes(), inputs or [], as_json))
    except KawaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
        raise typer.Exit(130) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(json.dumps(result["outputs"], ensure_ascii=False, indent=2))
        typer.echo(
            f"{result['status']} in {result['elapsed_time'] * 1000:.1f} ms, {result['total_steps']} steps", err=True
        )
        if result.get("error"):
            typer.echo(f"error: {result['error']}", err=True)
    if result.get("status") not in ("succeeded", "partial-succeeded"):
        raise typer.Exit(1)


async def _run(source: bytes, inputs: list[str], as_json: bool) -> dict[str, Any]:
    """Run the workflow in the DSL `source`; return its `workflow_finished` summary (empty if it never finished)."""
    from kawa.apps.event_payloads import jsonable
    from kawa.apps.runners.local_run import parse_cli_inputs, run_document
    from kawa.dsl import load_dsl
    from kawa.models.registry import ModelRuntime
    from kawa.services import build_node_services
    from kawa.settings import Settings
    from kawa.workflow import events as ev
    from kawa.workflow.graph import compile_graph
    from kawa.workflow.runtime import EngineLimits

    settings = Settings()
    limits = EngineLimits(
        max_steps=settings.workflow.max_steps,
        max_wall_time_s=settings.workflow.max_wall_time_s,
        max_depth=settings.workflow.max_depth,
    )
    doc = load_dsl(source, check_graph=compile_graph)
    result: dict[str, Any] = {}
    streamed = False
    models = ModelRuntime(settings.models)
    try:
        async with build_node_services(settings, models) as services:
            async for event in run_document(doc, parse_cli_inputs(inputs), services, limits):
                if isinstance(event, ev.WorkflowFinished):
                    result = {
                        "status": event.status,
                        "outputs": jsonable(event.outputs),
                        "error": event.error,
                        "elapsed_time": round(event.elapsed_time, 6),
                        "total_steps": event.total_steps,
                        "total_tokens": event.total_tokens,
                    }
                elif not as_json:
                    streamed = _show(event) or streamed
    finally:
        await models.aclose()
    if streamed:
        typer.echo("")
    return result


def _show(event: EngineEvent) -> bool:
    """Print one engine event for a person watching; True when it was streamed text (on stdout)."""
    from kawa.workflow import events as ev

    if isinstance(event, ev.NodeStarted):
        typer.echo(f"▶ {event.title or event.node_id} ({event.node_type})", err=True)
    elif isinstance(event, ev.NodeFinished):
        mark = FINISHED_MARKS.get(event.status, "✘")
        detail = f": {event.error}" if event.error else ""
        typer.echo(f"{mark} {event.title or event.node_id} {event.elapsed_time * 1000:.1f} ms{detail}", err=True)
    elif isinstance(event, ev.TextChunk):
        typer.echo(event.text, nl=False)
        return True
    return False
