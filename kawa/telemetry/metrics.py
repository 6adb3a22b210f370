"""`Metrics`: kawa's Prometheus collectors on a registry of their own, and the `/metrics` exposition.

Multi-worker safe: when `PROMETHEUS_MULTIPROC_DIR` is set before `prometheus_client` is first imported (the
supervising `kawa serve --workers N` parent does it, see `prepare_multiprocess_dir`), every worker writes its values
to files there and a scrape of any worker aggregates them all (`render`). Gauges say how they aggregate: pool sizes
and active counts sum over live workers, Redis health takes the minimum.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Generic, Literal, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
__all__ = ["CONTENT_TYPE", "MULTIPROC_ENV", "Metrics", "prepare_multiprocess_dir", "worker_exited"]

GaugeMode = Literal["livesum", "livemin"]
_LLM = ("provider", "model")
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: Path) -> None:
    """For a supervising parent, before it starts workers: an empty directory named in the environment they inherit
    (values of an earlier server would otherwise be summed in)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def worker_exited(pid: int) -> None:
    """For a supervising parent when a worker ends: its live gauges (active runs, pools) stop counting."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # prometheus_client is untyped here


M = TypeVar("M", Counter, Gauge, Histogram)


class Labelled(Generic[M]):
    """A labelled metric whose children are kept once made: `labels()` of prometheus_client validates and locks on
    every call, a dict lookup does not (runs record a dozen values each; H1 counts their CPU in microseconds)."""

    __slots__ = ("_children", "metric")

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def labels(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


class Metrics:
    """Every collector kawa exports. One per process (tests build several, each with its own registry)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Labelled[Counter]:
            return Labelled(Counter(name, doc, labels, registry=registry))

        def histogram(name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Labelled[Histogram]:
            return Labelled(Histogram(name, doc, labels, registry=registry, buckets=buckets))

        def gauge(name: str, doc: str, labels: tuple[str, ...], mode: GaugeMode = "livesum") -> Gauge:
            return Gauge(name, doc, labels, registry=registry, multiprocess_mode=mode)

        self.http_requests = counter(
            "kawa_http_requests", "HTTP requests by route template and status.", ("method", "route", "status")
        )
        self.http_duration = histogram(
            "kawa_http_request_duration_seconds",
            "Time to the end of the response (streams: to their last event).",
            ("method", "route"),
            _FAST,
        )
        self.runs = counter("kawa_runs", "Runs (workflow and chatflow) ended, by app and status.", ("app_id", "status"))
        self.run_duration = histogram("kawa_run_duration_seconds", "Run wall time.", ("app_id",), _SLOW)
        self.active_runs = gauge("kawa_active_runs", "Runs in progress.", ())
        self.active_streams = gauge("kawa_active_streams", "Server-sent event streams open.", ())
        self.nodes = counter("kawa_node_executions", "Node executions ended, by type and status.", ("type", "status"))
        self.node_duration = histogram("kawa_node_duration_seconds", "Node execution time.", ("type",), _SLOW)
        self.llm_calls = counter(
            "kawa_llm_calls", "LLM calls by provider, model and outcome (ok or a Dify error code).", (*_LLM, "outcome")
        )
        self.llm_tokens = counter("kawa_llm_tokens", "LLM tokens by kind (prompt, completion).", (*_LLM, "kind"))
        self.llm_cost = counter(
            "kawa_llm_cost", "LLM cost by currency (from the configured prices).", (*_LLM, "currency")
        )
        self.llm_ttft = histogram(
            "kawa_llm_time_to_first_token_seconds", "Time from the call to its first output.", _LLM, _SLOW
        )
        self.llm_duration = histogram("kawa_llm_call_duration_seconds", "LLM call time.", _LLM, _SLOW)
        self.tool_calls = counter(
            "kawa_tool_calls", "Tool calls by provider, tool and outcome.", ("provider", "tool", "outcome")
        )
        self.tool_duration = histogram("kawa_tool_call_duration_seconds", "Tool call time.", ("provider",), _SLOW)
        self.retrievals = counter("kawa_knowledge_retrievals", "Knowledge searches of nodes, by outcome.", ("outcome",))
        self.retrieval_duration = Histogram(
            "kawa_knowledge_retrieval_duration_seconds", "Knowledge search time.", registry=registry, buckets=_FAST
        )
        self.sandbox_runs = counter(
            "kawa_sandbox_runs", "Code sandbox runs by language and outcome.", ("language", "outcome")
        )
        self.sandbox_duration = histogram("kawa_sandbox_run_duration_seconds", "Code run time.", ("language",), _SLOW)
        self.sandbox_workers = gauge(
            "kawa_sandbox_workers",
            "Sandbox worker slots by language and state (slots, alive, starting).",
            ("language", "state"),
        )
        self.db_pool = gauge(
            "kawa_db_pool_connections", "Database connections by state (size, checked_out, idle, overflow).", ("state",)
        )
        self.redis_up = gauge("kawa_redis_up", "1 while every process's Redis link is connected.", ("link",), "livemin")
        self.queue_depth = gauge("kawa_queue_depth", "Work waiting, by queue (indexing, group_commit).", ("queue",))

    def render(self) -> bytes:
        """The exposition text: this process's registry, or every worker's values in multiprocess mode."""
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        aggregate = CollectorRegistry()
        multiprocess.MultiProcessCollector(aggregate, path=path)  # type: ignore[no-untyped-call]  # as above
        return generate_latest(aggregate)
