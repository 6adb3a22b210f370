"""A bounded schemathesis run against a real `kawa serve`: every operation of `/v1/openapi.json`, with valid and
invalid inputs (positive and negative generation), with a workflow app's, a chatflow app's and a knowledge key.
No answer may be a 5xx; every error answer has Dify's `{code, message, status}` body. Prints the case count."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode

from .conftest import ServedKawa

CASES_PER_OPERATION = 3  # per key and generation mode: at most ~640 cases
BUDGET_S = 80.0  # a loaded machine stops early rather than run long
# Operations that would start real work per case (model calls, audio, indexing) or end the key itself.
SKIPPED = {("POST", "/v1/audio-to-text"), ("POST", "/v1/text-to-audio")}


def _fuzzer(strategy: Any, call: Any) -> Any:
    @hypothesis.settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def fuzz(case: Any) -> None:
        call(case)

    return fuzz


def _key_for(path: str, keys: dict[str, str]) -> list[str]:
    if path.startswith("/v1/datasets") or path.startswith("/v1/workspaces"):
        return [keys["dataset"]]
    if path.startswith("/v1/"):
        return [keys["workflow"], keys["chatflow"]]
    return [keys["workflow"]]


def test_no_operation_answers_5xx_to_valid_or_invalid_input(served_kawa: ServedKawa) -> None:
    schema = schemathesis.openapi.from_url(f"{served_kawa.base_url}/v1/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    started = time.monotonic()

    def call(case: Any, key: str) -> None:
        response = case.call(base_url=served_kawa.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=20)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
            return
        if response.status_code >= 400 and "json" in response.headers.get("content-type", [""])[0]:
            body = response.json()
            if not (isinstance(body, dict) and {"code", "message", "status"} <= set(body)):
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code} not Dify's: {body}")

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for key in _key_for(operation.path, served_kawa.keys):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if time.monotonic() - started > BUDGET_S:
                    break

                with contextlib.suppress(hypothesis.errors.Unsatisfiable):  # negative mode, nothing to break
                    _fuzzer(operation.as_strategy(generation_mode=mode), lambda case, key=key: call(case, key))()

    cases = sum(statuses.values())
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {cases} cases in {elapsed:.1f} s, statuses {dict(sorted(statuses.items()))}")
    assert cases >= 50  # the budget cuts the run short on a loaded machine; fewer means the server barely answered
    assert not failures, "\n".join(failures[:20])
    assert not any(status >= 500 for status in statuses)
