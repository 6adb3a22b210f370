"""DSL of the apps the agent tests import: a workflow or chatflow with one agent node, and a workflow to publish as a
tool."""

from __future__ import annotations

from typing import Any

import yaml

MODEL = {
    "provider": "langgenius/openai/openai",
    "model": "gpt-4o-mini",
    "name": "gpt-4o-mini",
    "mode": "chat",
    "model_type": "llm",
    "type": "model-selector",
    "completion_params": {"temperature": 0.2},
}

# Tool selectors as Dify's agent node exports them, one per kind of tool.
BUILTIN_TOOL = {
    "enabled": True,
    "type": "builtin",
    "provider_name": "langgenius/math/math",
    "tool_name": "eval_expression",
    "tool_label": "Evaluate expression",
    "parameters": {"expression": {"auto": 1, "value": None}},
    "settings": {},
    "extra": {"description": ""},
}
WORKFLOW_TOOL = {
    "enabled": True,
    "type": "workflow",
    "provider_name": "order_status",
    "tool_name": "order_status",
    "tool_label": "Order status",
    "parameters": {"order_id": {"auto": 1, "value": None}},
    "settings": {},
    "extra": {"description": "The status of an order."},
}
MCP_TOOL = {
    "enabled": True,
    "type": "mcp",
    "provider_name": "warehouse",
    "tool_name": "lookup_stock",
    "tool_label": "Stock lookup",
    "parameters": {"sku": {"auto": 1, "value": None}},
    "settings": {},
    "extra": {"description": ""},
}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {
        "id": f"{source}-{target}",
        "source": source,
        "target": target,
        "sourceHandle": "source",
        "targetHandle": "target",
        "type": "custom",
        "data": {},
    }


def agent_node(
    strategy: str,
    tools: list[dict[str, Any]],
    *,
    iterations: int = 3,
    memory: bool = False,
    query: str = "{{#start.question#}}",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "agent",
        "title": "Agent",
        "agent_strategy_provider_name": "langgenius/agent/agent",
        "agent_strategy_name": strategy,
        "agent_strategy_label": "FunctionCalling" if strategy == "function_calling" else "ReAct",
        "agent_parameters": {
            "model": {"type": "constant", "value": MODEL},
            "tools": {"type": "constant", "value": tools},
            "instruction": {"type": "constant", "value": "You help the shop staff."},
            "query": {"type": "constant", "value": query},
            "maximum_iterations": {"type": "constant", "value": iterations},
        },
        "output_schema": {},
        "plugin_unique_identifier": "langgenius/agent:0.0.14@abc",
        "tool_node_version": "2",
    }
    if memory:
        data["memory"] = {"window": {"enabled": True, "size": 10}, "query_prompt_template": "{{#sys.query#}}"}
    return {"id": "agent", "type": "custom", "data": data}


def agent_workflow(name: str, node: dict[str, Any]) -> str:
    start = {
        "id": "start",
        "type": "custom",
        "data": {
            "type": "start",
            "title": "Start",
            "variables": [{"variable": "question", "label": "Question", "type": "paragraph", "required": True}],
        },
    }
    end = {
        "id": "end",
        "type": "custom",
        "data": {
            "type": "end",
            "title": "End",
            "outputs": [
                {"variable": "answer", "value_selector": ["agent", "text"]},
                {"variable": "json", "value_selector": ["agent", "json"]},
            ],
        },
    }
    return _document(name, "workflow", [start, node, end], [_edge("start", "agent"), _edge("agent", "end")])


def agent_chatflow(name: str, node: dict[str, Any]) -> str:
    start = {"id": "start", "type": "custom", "data": {"type": "start", "title": "Start", "variables": []}}
    answer = {
        "id": "answer",
        "type": "custom",
        "data": {"type": "answer", "title": "Answer", "answer": "{{#agent.text#}}"},
    }
    return _document(name, "advanced-chat", [start, node, answer], [_edge("start", "agent"), _edge("agent", "answer")])


def order_status_workflow() -> str:
    """The workflow published as the `order_status` tool: no model, answers from a template."""
    start = {
        "id": "start",
        "type": "custom",
        "data": {
            "type": "start",
            "title": "Start",
            "variables": [
                {"variable": "order_id", "label": "Order id", "type": "text-input", "required": True, "max_length": 32}
            ],
        },
    }
    status = {
        "id": "status",
        "type": "custom",
        "data": {
            "type": "template-transform",
            "title": "Status",
            "variables": [{"variable": "order_id", "value_selector": ["start", "order_id"]}],
            "template": "Order {{ order_id }} shipped on Monday.",
        },
    }
    end = {
        "id": "end",
        "type": "custom",
        "data": {
            "type": "end",
            "title": "End",
            "outputs": [{"variable": "status", "value_selector": ["status", "output"]}],
        },
    }
    return _document(
        "Order status",
        "workflow",
        [start, status, end],
        [_edge("start", "status"), _edge("status", "end")],
        description="The status of an order.",
    )


def _document(
    name: str, mode: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], description: str = ""
) -> str:
    return yaml.safe_dump(
        {
            "version": "0.6.0",
            "kind": "app",
            "app": {"name": name, "mode": mode, "description": description, "icon": "🤖"},
            "dependencies": [],
            "workflow": {
                "environment_variables": [],
                "conversation_variables": [],
                "features": {},
                "graph": {"nodes": nodes, "edges": edges},
            },
        },
        allow_unicode=True,
        sort_keys=False,
    )
