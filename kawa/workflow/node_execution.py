"""`NodeExecution`: one run of a node within a level, and the node_started / node_finished / node_retry events
that describe it (container scope ids included). The scheduler decides when; this module says what they carry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

from kawa.workflow.events import NodeFinished, NodeRetry, NodeStarted, NodeStatus
from kawa.workflow.graph import NodeSpec
from kawa.workflow.node_failure import error_text
from kawa.workflow.runtime import Scope
from kawa.workflow.truncation import PayloadLimits, truncate_payload


class NodeExecution:
    __slots__ = ("created_at", "id", "index", "predecessor", "scope", "spec", "started", "task")

    def __init__(self, spec: NodeSpec, index: int, predecessor: str | None, scope: Scope) -> None:
        self.spec = spec
        self.id = str(uuid.uuid4())
        self.index = index  # 1-based execution order within the run
        self.predecessor = predecessor
        self.scope = scope
        self.created_at = time.time()
        self.started = time.perf_counter()
        self.task: asyncio.Task[None] | None = None

    def started_event(self) -> NodeStarted:
        spec, scope = self.spec, self.scope
        return NodeStarted(
            id=self.id,
            node_id=spec.id,
            node_type=spec.type,
            title=spec.title,
            index=self.index,
            predecessor_node_id=self.predecessor,
            created_at=self.created_at,
            iteration_id=scope.iteration_id,
            iteration_index=scope.iteration_index,
            loop_id=scope.loop_id,
            loop_index=scope.loop_index,
        )

    def finished_event(
        self,
        status: NodeStatus,
        *,
        inputs: Mapping[str, Any] | None = None,
        process_data: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        error: str | None = None,
        metadata: dict[str, Any] | None = None,
        payload_limits: PayloadLimits | None = None,
    ) -> NodeFinished:
        """With `payload_limits`, inputs, process_data and outputs larger than them are cut, and flagged."""
        spec, scope = self.spec, self.scope
        cut = (False, False, False)
        if payload_limits is not None:
            inputs, inputs_cut = truncate_payload(inputs, payload_limits)
            process_data, process_data_cut = truncate_payload(process_data, payload_limits)
            outputs, outputs_cut = truncate_payload(outputs, payload_limits)
            cut = (inputs_cut, process_data_cut, outputs_cut)
        if scope.iteration_id is not None or scope.loop_id is not None:
            metadata = dict(metadata or {})
            if scope.iteration_id is not None:
                metadata.update(iteration_id=scope.iteration_id, iteration_index=scope.iteration_index)
            if scope.loop_id is not None:
                metadata.update(loop_id=scope.loop_id, loop_index=scope.loop_index)
        return NodeFinished(
            id=self.id,
            node_id=spec.id,
            node_type=spec.type,
            title=spec.title,
            index=self.index,
            predecessor_node_id=self.predecessor,
            created_at=self.created_at,
            status=status,
            inputs=inputs,
            process_data=process_data,
            outputs=outputs,
            error=error,
            elapsed_time=time.perf_counter() - self.started,
            execution_metadata=metadata or None,
            finished_at=time.time(),
            iteration_id=scope.iteration_id,
            iteration_index=scope.iteration_index,
            loop_id=scope.loop_id,
            loop_index=scope.loop_index,
            inputs_truncated=cut[0],
            process_data_truncated=cut[1],
            outputs_truncated=cut[2],
        )

    def retry_event(self, error: BaseException, attempt: int) -> NodeRetry:
        spec, scope = self.spec, self.scope
        return NodeRetry(
            id=self.id,
            node_id=spec.id,
            node_type=spec.type,
            title=spec.title,
            index=self.index,
            predecessor_node_id=self.predecessor,
            created_at=self.created_at,
            inputs=None,
            error=error_text(error),
            retry_index=attempt,
            elapsed_time=time.perf_counter() - self.started,
            finished_at=time.time(),
            iteration_id=scope.iteration_id,
            iteration_index=scope.iteration_index,
            loop_id=scope.loop_id,
            loop_index=scope.loop_index,
        )
