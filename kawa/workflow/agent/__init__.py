"""The agent strategies (function calling and ReAct) as loops over a model and tools, shared by the workflow's
`agent` node and the easy-UI agent-chat mode: each caller adapts its model call and tools to `steps.py`'s seams."""

from kawa.workflow.agent.function_calling import run_function_calling
from kawa.workflow.agent.react import run_react
from kawa.workflow.agent.react_format import REACT_PROMPT, ReactStep, parse_react
from kawa.workflow.agent.steps import (
    AgentEvent,
    AgentFinished,
    AgentThought,
    AgentToolPort,
    MessageDelta,
    ModelTurn,
    TurnFactory,
)

__all__ = [
    "REACT_PROMPT",
    "AgentEvent",
    "AgentFinished",
    "AgentThought",
    "AgentToolPort",
    "MessageDelta",
    "ModelTurn",
    "ReactStep",
    "TurnFactory",
    "parse_react",
    "run_function_calling",
    "run_react",
]
