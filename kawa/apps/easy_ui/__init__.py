"""The easy-UI app pipelines: what a `chat`, `completion` or `agent-chat` app (Dify's non-workflow modes) does with
one request, from its DSL `model_config` to a stream of typed events; plus suggested questions and conversation
names."""

from kawa.apps.easy_ui.config import AppUnavailable
from kawa.apps.easy_ui.conversation_name import generate_conversation_name
from kawa.apps.easy_ui.events import (
    AgentThought,
    MessageDelta,
    MessageReplace,
    PipelineEvent,
    PipelineFinished,
    RetrieverResources,
)
from kawa.apps.easy_ui.pipeline import run_pipeline
from kawa.apps.easy_ui.request import EasyUIMode, EasyUIRequest, HistoryTurn
from kawa.apps.easy_ui.retrieval import RetrievedSegment, Retriever
from kawa.apps.easy_ui.suggested_questions import suggest_questions

__all__ = [
    "AgentThought",
    "AppUnavailable",
    "EasyUIMode",
    "EasyUIRequest",
    "HistoryTurn",
    "MessageDelta",
    "MessageReplace",
    "PipelineEvent",
    "PipelineFinished",
    "RetrievedSegment",
    "Retriever",
    "RetrieverResources",
    "generate_conversation_name",
    "run_pipeline",
    "suggest_questions",
]
