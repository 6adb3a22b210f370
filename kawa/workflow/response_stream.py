"""`ResponseStreamCoordinator`: streams Answer/End output as text chunks, in template order, one node at a time.

A response node's stream starts once every conditional edge of one of its root paths is taken (it is then certain
to run). Constant text goes out at once (`from_variable_selector = [node, "answer"]`); a variable forwards the
deltas its node streams, or the value's markdown once the node has finished (or was skipped: then the bare
`node.var` text, like the template does). An End node sends such finished values only once it has itself started,
so that they stream between its node_started and node_finished, as Dify's do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kawa.workflow.events import TextChunk
from kawa.workflow.template import VariableSegment, render_variable
from kawa.workflow.variable_pool import CONVERSATION, VariablePool

if TYPE_CHECKING:
    from kawa.workflow.graph import Graph
    from kawa.workflow.template import Segment


class _Session:
    __slots__ = ("ancestors", "forwarded", "node_id", "position", "segments", "waits_for_start")

    def __init__(
        self, node_id: str, segments: Sequence[Segment], ancestors: frozenset[str], *, waits_for_start: bool
    ) -> None:
        self.node_id = node_id
        self.waits_for_start = waits_for_start  # finished values go out once the node itself started (End)
        self.segments = segments
        self.position = 0
        self.forwarded = 0  # chunks of the current variable segment already sent
        self.ancestors = ancestors


class ResponseStreamCoordinator:
    def __init__(self, graph: Graph, pool: VariablePool, emit: Callable[[TextChunk], None]) -> None:
        self._graph = graph
        self._pool = pool
        self._emit = emit
        self._waiting: dict[str, tuple[frozenset[str], ...]] = dict(
            sorted(graph.response_paths.items(), key=lambda item: graph.depth.get(item[0], 0))
        )
        self._ready: deque[_Session] = deque()
        self._active: _Session | None = None
        self._resolved: set[str] = set()
        self._started: set[str] = set()
        self._streams: dict[tuple[str, str], list[str]] = {}
        self.text_by_node: dict[str, list[str]] = {}

    def rebind(self, emit: Callable[[TextChunk], None]) -> None:
        """Send to `emit` from now on (a resumed run replays the chunks sent before its pause muted)."""
        self._emit = emit

    @property
    def enabled(self) -> bool:
        return bool(self._waiting) or self._active is not None

    # -- inputs from the scheduler

    def on_edges_taken(self, taken: set[str]) -> None:
        for node_id in [nid for nid, paths in self._waiting.items() if any(p <= taken for p in paths)]:
            self._start(node_id)
        self._pump()

    def on_resolved(self, node_id: str, *, ran: bool) -> None:
        """A node finished (`ran`, any status) or was skipped."""
        self._resolved.add(node_id)
        if node_id in self._waiting:
            if ran:  # a response node whose paths were too many to track: stream it now, complete
                self._start(node_id)
            else:
                del self._waiting[node_id]
        self._pump()

    def on_started(self, node_id: str) -> None:
        """A node's node_started was just sent."""
        self._started.add(node_id)
        if self._active is not None and self._active.node_id == node_id:
            self._pump()

    def _start(self, node_id: str) -> None:
        del self._waiting[node_id]
        spec = self._graph.nodes[node_id]
        segments = spec.node.response_segments() or ()
        waits = spec.type == "end"
        self._ready.append(_Session(node_id, segments, self._ancestors(node_id), waits_for_start=waits))

    def on_chunk(self, node_id: str, variable: str, text: str) -> None:
        self._streams.setdefault((node_id, variable), []).append(text)
        session = self._active
        if session is not None:
            segment = session.segments[session.position]
            if isinstance(segment, VariableSegment) and segment.selector[:2] == (node_id, variable):
                self._pump()

    def flush(self) -> None:
        """The run succeeded: every node is settled, so send whatever is still pending."""
        self._resolved.update(self._graph.nodes)
        self._started.update(self._graph.nodes)
        self._pump()

    # -- streaming

    def _pump(self) -> None:
        while True:
            session = self._active
            if session is None:
                if not self._ready:
                    return
                session = self._active = self._ready.popleft()
            if not self._advance(session):
                return
            self._active = None

    def _advance(self, session: _Session) -> bool:
        """Send what can be sent; True once the session is complete."""
        while session.position < len(session.segments):
            segment = session.segments[session.position]
            if isinstance(segment, str):
                self._send(session, segment, (session.node_id, "answer"))
            elif not self._send_variable(session, segment):
                return False
            session.position += 1
            session.forwarded = 0
        return True

    def _send_variable(self, session: _Session, segment: VariableSegment) -> bool:
        head = segment.selector[0]
        stream = self._streams.get(segment.selector[:2]) if len(segment.selector) == 2 else None
        if stream is not None:
            for text in stream[session.forwarded :]:
                self._send(session, text, segment.selector)
            session.forwarded = len(stream)
            return head in self._resolved
        if head == CONVERSATION:
            # Assigners upstream may still change it: wait until everything before the response node is done.
            if not session.ancestors <= self._resolved:
                return False
        elif head in self._graph.nodes and head not in self._resolved:
            return False
        if session.waits_for_start and session.node_id not in self._started:
            return False
        self._send(session, render_variable(segment, self._pool, markdown=True), segment.selector)
        return True

    def _send(self, session: _Session, text: str, selector: Sequence[str]) -> None:
        if text:
            self.text_by_node.setdefault(session.node_id, []).append(text)
            self._emit(TextChunk(text=text, from_variable_selector=list(selector), response_node_id=session.node_id))

    def _ancestors(self, node_id: str) -> frozenset[str]:
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for edge in self._graph.in_edges.get(stack.pop(), ()):
                if edge.source not in seen:
                    seen.add(edge.source)
                    stack.append(edge.source)
        return frozenset(seen)
