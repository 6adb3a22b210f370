"""Pausing a run for a person: what a paused node asks for (`FormRequest`), what it later learns (`FormDecision`),
and the `RunSnapshot` a paused run is resumed from.

The engine only produces and consumes these values; storing them, handing out form tokens and deciding when a run
resumes belong to the runner. A snapshot holds plain JSON-like values only, so the runner can store it as JSON and
resume it in another process days later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

TIMEOUT_HANDLE: Final = "__timeout"
"""The edge source handle a Human Input node follows when its form expired (Dify's)."""


@dataclass(frozen=True, slots=True)
class FormRequest:
    """A Human Input node waits for this form. `inputs` and `actions` are the node's DSL shapes."""

    node_id: str
    node_title: str
    execution_id: str
    form_content: str  # the Markdown with the run's variables substituted, `{{#$output.x#}}` kept
    inputs: Sequence[Mapping[str, Any]]
    actions: Sequence[Mapping[str, Any]]
    resolved_default_values: Mapping[str, str]
    timeout_s: float  # how long the form stays open from the moment it is first shown


@dataclass(frozen=True, slots=True)
class FormSubmitted:
    action_id: str
    data: Mapping[str, Any]  # the submitted values, files as file mappings


@dataclass(frozen=True, slots=True)
class FormTimedOut:
    expiration_time: float


FormDecision = FormSubmitted | FormTimedOut


class HumanInputDecisions(Protocol):
    """What became of the form a node execution asked for; None while nobody answered."""

    def decision(self, execution_id: str) -> FormDecision | None: ...


@dataclass(frozen=True, slots=True)
class StaticDecisions:
    """Decisions known before a resumed run starts (the runner reads them from the database)."""

    by_execution: Mapping[str, FormDecision] = field(default_factory=dict)

    def decision(self, execution_id: str) -> FormDecision | None:
        return self.by_execution.get(execution_id)


@dataclass(frozen=True, slots=True)
class PausedNode:
    """A node execution that is waiting: resumed with the same execution id, index and predecessor."""

    node_id: str
    execution_id: str
    index: int
    predecessor: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """Everything a paused top-level run needs to continue (JSON-like values only; no environment secrets)."""

    pool: Mapping[str, Mapping[str, Any]]  # node id / namespace -> values, without `env`
    user_inputs: Mapping[str, Any]
    remaining: Mapping[str, int]
    predecessor: Mapping[str, str]
    taken: Sequence[str]
    resolved: Sequence[tuple[str, bool]]  # (node id, ran) in the order the response streams learned them
    paused: Sequence[PausedNode]
    steps: int
    node_index: int
    total_tokens: int
    total_price: str
    currency: str | None
    exceptions_count: int
    end_outputs: Mapping[str, Any]
    answers: Sequence[str]
    created_at: float
    elapsed_s: float  # run time before this pause (and earlier ones)

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "user_inputs": self.user_inputs,
            "remaining": self.remaining,
            "predecessor": self.predecessor,
            "taken": list(self.taken),
            "resolved": [[node_id, ran] for node_id, ran in self.resolved],
            "paused": [
                {
                    "node_id": p.node_id,
                    "execution_id": p.execution_id,
                    "index": p.index,
                    "predecessor": p.predecessor,
                    "created_at": p.created_at,
                }
                for p in self.paused
            ],
            "steps": self.steps,
            "node_index": self.node_index,
            "total_tokens": self.total_tokens,
            "total_price": self.total_price,
            "currency": self.currency,
            "exceptions_count": self.exceptions_count,
            "end_outputs": self.end_outputs,
            "answers": list(self.answers),
            "created_at": self.created_at,
            "elapsed_s": self.elapsed_s,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RunSnapshot:
        return cls(
            pool=raw["pool"],
            user_inputs=raw["user_inputs"],
            remaining={k: int(v) for k, v in raw["remaining"].items()},
            predecessor=dict(raw["predecessor"]),
            taken=list(raw["taken"]),
            resolved=[(str(node_id), bool(ran)) for node_id, ran in raw["resolved"]],
            paused=[
                PausedNode(
                    node_id=p["node_id"],
                    execution_id=p["execution_id"],
                    index=int(p["index"]),
                    predecessor=p["predecessor"],
                    created_at=float(p["created_at"]),
                )
                for p in raw["paused"]
            ],
            steps=int(raw["steps"]),
            node_index=int(raw["node_index"]),
            total_tokens=int(raw["total_tokens"]),
            total_price=str(raw["total_price"]),
            currency=raw["currency"],
            exceptions_count=int(raw["exceptions_count"]),
            end_outputs=raw["end_outputs"],
            answers=list(raw["answers"]),
            created_at=float(raw["created_at"]),
            elapsed_s=float(raw["elapsed_s"]),
        )
