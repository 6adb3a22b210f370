"""The easy-UI app pipelines: what a `chat`, `completion` or `agent-chat` app (Dify's non-workflow modes) does with
one request, from its DSL `model_config` to a stream of typed events; plus suggested questions and conversation
names."""

from kawa.apps.modes.easy_ui.config import AppUnavailable
from kawa.apps.modes.easy_ui.conversation_name import generate_conversation_name
from kawa.apps.modes.easy_ui.pipeline import run_pipeline
from kawa.apps.modes.easy_ui.pipeline_events import (
    AgentThought,
    MessageDelta,
    MessageReplace,
    PipelineEvent,
    PipelineFinished,
    RetrieverResources,
)
from kawa.apps.modes.easy_ui.request import EasyUIModeName, EasyUIRequest, HistoryTurn
from kawa.apps.modes.easy_ui.retrieval import CitationRetriever, RetrievedSegment
from kawa.apps.modes.easy_ui.suggested_questions import suggest_questions

__all__ = [
    "AgentThought",
    "AppUnavailable",
    "CitationRetriever",
    "EasyUIModeName",
    "EasyUIRequest",
    "HistoryTurn",
    "MessageDelta",
    "MessageReplace",
    "PipelineEvent",
    "PipelineFinished",
    "RetrievedSegment",
    "RetrieverResources",
    "generate_conversation_name",
    "run_pipeline",
    "suggest_questions",
]
