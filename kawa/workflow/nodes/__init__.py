"""Node types: the default `NodeRegistry` and `KNOWN_NODE_TYPES` (what DSL import accepts).

To add a node type: write `nodes/<type>.py` (see `nodes/base.py`) and list its class in `_NODE_CLASSES`
(replacing its placeholder in `pending.PENDING_TYPES` if it has one).
"""

from __future__ import annotations

from typing import Any

from kawa.workflow.nodes.agent import AgentNode
from kawa.workflow.nodes.answer import AnswerNode
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult, NodeUsage
from kawa.workflow.nodes.code import CodeNode
from kawa.workflow.nodes.document_extractor import DocumentExtractorNode
from kawa.workflow.nodes.end import EndNode
from kawa.workflow.nodes.http_request import HttpRequestNode
from kawa.workflow.nodes.human_input import HumanInputNode
from kawa.workflow.nodes.if_else import IfElseNode
from kawa.workflow.nodes.iteration import IterationNode, IterationStartNode
from kawa.workflow.nodes.knowledge_retrieval import KnowledgeRetrievalNode
from kawa.workflow.nodes.list_operator import ListOperatorNode
from kawa.workflow.nodes.llm import LLMNode
from kawa.workflow.nodes.loop import LoopEndNode, LoopNode, LoopStartNode
from kawa.workflow.nodes.parameter_extractor import ParameterExtractorNode
from kawa.workflow.nodes.pending import PENDING_TYPES, pending_node
from kawa.workflow.nodes.question_classifier import QuestionClassifierNode
from kawa.workflow.nodes.registry import NodeRegistry
from kawa.workflow.nodes.start import StartNode
from kawa.workflow.nodes.template_transform import TemplateTransformNode
from kawa.workflow.nodes.tool import ToolNode
from kawa.workflow.nodes.variable_aggregator import LegacyVariableAssignerNode, VariableAggregatorNode
from kawa.workflow.nodes.variable_assigner import VariableAssignerNode

_NODE_CLASSES: tuple[type[Node[Any]], ...] = (
    StartNode,
    EndNode,
    AnswerNode,
    IfElseNode,
    TemplateTransformNode,
    VariableAggregatorNode,
    LegacyVariableAssignerNode,
    VariableAssignerNode,
    ListOperatorNode,
    IterationNode,
    IterationStartNode,
    LoopNode,
    LoopStartNode,
    LoopEndNode,
    LLMNode,
    QuestionClassifierNode,
    ParameterExtractorNode,
    ToolNode,
    CodeNode,
    HttpRequestNode,
    DocumentExtractorNode,
    KnowledgeRetrievalNode,
    AgentNode,
    HumanInputNode,
)

_IMPLEMENTED = {cls.node_type for cls in _NODE_CLASSES}

DEFAULT_REGISTRY = NodeRegistry([*(pending_node(t) for t in PENDING_TYPES if t not in _IMPLEMENTED), *_NODE_CLASSES])
KNOWN_NODE_TYPES: frozenset[str] = DEFAULT_REGISTRY.types()

__all__ = [
    "DEFAULT_REGISTRY",
    "KNOWN_NODE_TYPES",
    "Node",
    "NodeConfigError",
    "NodeData",
    "NodeRegistry",
    "NodeResult",
    "NodeUsage",
]
