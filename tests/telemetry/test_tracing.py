"""OpenTelemetry traces of a real server, received by a loopback OTLP receiver that decodes the protobuf (over HTTP
and over gRPC): one trace per run under the request's span, continuing the client's `traceparent`; a span per node,
and under each node the spans of its sandbox run, tool call and model call (GenAI conventions, prompts masked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.openai_server import FakeOpenAI, Scenario
from otlp_receiver import OtlpReceiver, ReceivedSpan, span_tree
from support.apps import import_app
from support.clients import make_settings
from support.server import start_server
from support.upstream import upstream_models

from kawa.settings import Settings
from kawa.telemetry.settings import TelemetrySettings
from kawa.telemetry.tracing import otlp_protocol, tracing_wanted

CHATFLOW = Path(__file__).with_name("chatflow-traced.yml")
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
SECRET_ENV_VALUE = "sekrit-vendor-token-7f3a9c"


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        fake.on_model("gpt-4o-mini", Scenario(text="Six, as asked."))
        yield fake


def traced_settings(tmp_path: Path, upstream: FakeOpenAI, receiver: OtlpReceiver, **telemetry: object) -> Settings:
    return make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'kawa.db'}",
        models=upstream_models(upstream),
        telemetry={
            "tracing": True,
            "otlp_endpoint": receiver.endpoint,
            "otlp_protocol": receiver.protocol,
            **telemetry,
        },
    )


def ask(settings: Settings, headers: dict[str, str]) -> None:
    """One blocking chat message on a fresh server, stopped afterwards (which flushes its spans)."""
    app = import_app(settings, CHATFLOW)
    server = start_server(settings)
    try:
        response = httpx.post(
            server.api_url + "/chat-messages",
            headers={"Authorization": f"Bearer {app.api_key}", **headers},
            json={"query": "hello", "inputs": {}, "user": "ada", "response_mode": "blocking"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.json()["answer"] == "Six, as asked."
    finally:
        server.stop()


def by_name(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{name!r} x{len(found)} in\n{span_tree(spans)}"
    return found[0]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_chatflow_run_is_one_trace_under_the_clients_traceparent(
    tmp_path: Path, upstream: FakeOpenAI, protocol: str
) -> None:
    receiver = OtlpReceiver(protocol).start()
    try:
        ask(traced_settings(tmp_path, upstream, receiver), {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
        spans = receiver.wait_for(lambda got: any(s.name == "chatflow run" for s in got))
    finally:
        receiver.stop()
    print(f"\nspan tree ({protocol}):\n{span_tree(spans)}")
    request = by_name(spans, "POST /v1/chat-messages")
    run = by_name(spans, "chatflow run")
    assert {s.trace_id for s in spans} == {CLIENT_TRACE}
    assert request.parent_span_id == CLIENT_SPAN and request.kind == 2  # SERVER
    assert request.attributes["http.response.status_code"] == 200
    assert run.parent_span_id == request.span_id
    assert run.attributes["kawa.run.status"] == "succeeded" and run.service == "kawa"
    nodes = {s.name: s for s in spans if s.parent_span_id == run.span_id}
    assert set(nodes) == {"start Start", "code Measure", "tool Evaluate", "llm Answer model", "answer Reply"}
    sandbox = by_name(spans, "sandbox run python3")
    tool = by_name(spans, "execute_tool eval_expression")
    chat = by_name(spans, "chat gpt-4o-mini")
    assert sandbox.parent_span_id == nodes["code Measure"].span_id
    assert tool.parent_span_id == nodes["tool Evaluate"].span_id
    assert chat.parent_span_id == nodes["llm Answer model"].span_id and chat.kind == 3  # CLIENT
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0 and chat.attributes["gen_ai.usage.output_tokens"] > 0
    assert "gen_ai.input.messages" not in chat.attributes  # prompts are masked by default
    assert SECRET_ENV_VALUE not in repr([s.attributes for s in spans])
    for child in (sandbox, tool, chat):
        parent = next(s for s in spans if s.span_id == child.parent_span_id)
        assert parent.start_ns <= child.start_ns and child.end_ns <= parent.end_ns + 1_000_000


def test_difys_trace_id_names_the_trace_when_no_traceparent_comes(tmp_path: Path, upstream: FakeOpenAI) -> None:
    receiver = OtlpReceiver("http/protobuf").start()
    dify_trace = "0af7651916cd43dd8448eb211c80319c"
    try:
        ask(traced_settings(tmp_path, upstream, receiver), {"X-Trace-Id": dify_trace})
        spans = receiver.wait_for(lambda got: any(s.name == "chatflow run" for s in got))
    finally:
        receiver.stop()
    request = by_name(spans, "POST /v1/chat-messages")
    assert {s.trace_id for s in spans} == {dify_trace}
    assert request.attributes["dify.trace_id"] == dify_trace


def test_prompts_go_on_spans_only_when_asked_and_then_with_secrets_masked(tmp_path: Path, upstream: FakeOpenAI) -> None:
    receiver = OtlpReceiver("http/protobuf").start()
    try:
        ask(traced_settings(tmp_path, upstream, receiver, trace_content=True), {})
        spans = receiver.wait_for(lambda got: any(s.name.startswith("chat ") for s in got))
    finally:
        receiver.stop()
    chat = by_name(spans, "chat gpt-4o-mini")
    assert "hello (10)" in chat.attributes["gen_ai.input.messages"]
    assert "Six, as asked." in chat.attributes["gen_ai.output.messages"]
    assert "sekrit" in chat.attributes["gen_ai.input.messages"]  # Dify's obfuscated form: first 6 characters
    assert SECRET_ENV_VALUE not in repr([s.attributes for s in spans])


def test_tracing_is_off_unless_settings_or_otel_variables_turn_it_on() -> None:
    off = TelemetrySettings()
    assert not tracing_wanted(off, {})
    assert tracing_wanted(off, {"OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing_wanted(off, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing_wanted(off, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_wanted(TelemetrySettings(tracing=True), {"OTEL_SDK_DISABLED": "true"})
    assert otlp_protocol(off, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "grpc"
    assert otlp_protocol(TelemetrySettings(otlp_protocol="http/protobuf"), {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == (
        "http/protobuf"
    )
