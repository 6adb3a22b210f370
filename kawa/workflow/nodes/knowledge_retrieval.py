"""The `knowledge-retrieval` node: searches the configured datasets for the query and outputs `result`, a list of
`{content, title, metadata}` items (metadata `_source: "knowledge"`), which LLM nodes take as context.

- `multiple` mode searches every dataset with `multiple_retrieval_config` (top_k, threshold, weights or rerank).
- `single` mode asks the node's model which one dataset fits (by name and description), then searches it with
  that dataset's own settings; without a usable model it keeps the dataset whose best hit scores highest.
- `manual` metadata filtering applies `metadata_filtering_conditions` (values may hold `{{#node.var#}}`);
  `automatic` (model-generated filters) is treated as no filter.

The search itself is `NodeServices.knowledge` (the `KnowledgeSearch` seam of ports.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kawa.errors import KawaError
from kawa.models.types import ChatMessage, Usage
from kawa.workflow.errors import NodeError
from kawa.workflow.nodes.base import Node, NodeConfigError, NodeData, NodeResult
from kawa.workflow.nodes.model_call import ModelData, call_model, node_usage, parse_json_object
from kawa.workflow.ports import KnowledgeSearch, MetadataCondition, MetadataFilter, RetrievedItem
from kawa.workflow.runtime import NodeContext
from kawa.workflow.template import render_text
from kawa.workflow.values import to_text


class KnowledgeUnavailable(NodeError):
    pass


class RetrievalFailed(NodeError):
    pass


class MetadataConditionData(BaseModel):
    name: str
    comparison_operator: str
    value: Any = None


class MetadataConditionsData(BaseModel):
    """`metadata_filtering_conditions` of the node (values may hold `{{#node.var#}}`)."""

    logical_operator: Literal["and", "or"] = "and"
    conditions: list[MetadataConditionData] = Field(default_factory=list)


class SingleRetrievalConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: ModelData | None = None


class KnowledgeRetrievalData(NodeData):
    query_variable_selector: list[str] = Field(default_factory=list)
    dataset_ids: list[str] = Field(default_factory=list)
    retrieval_mode: Literal["single", "multiple"] = "multiple"
    multiple_retrieval_config: dict[str, Any] | None = None
    single_retrieval_config: SingleRetrievalConfig | None = None
    metadata_filtering_mode: Literal["disabled", "automatic", "manual"] | None = "disabled"
    metadata_filtering_conditions: MetadataConditionsData | None = None


class KnowledgeRetrievalNode(Node[KnowledgeRetrievalData]):
    node_type = "knowledge-retrieval"
    data_model = KnowledgeRetrievalData

    def check(self) -> None:
        if not self.data.query_variable_selector:
            raise NodeConfigError("query_variable_selector", "the query variable is required")

    async def run(self, ctx: NodeContext) -> NodeResult:
        knowledge = ctx.services.knowledge
        if knowledge is None:
            raise KnowledgeUnavailable("Knowledge bases are not available to this run.")
        query = to_text(ctx.pool.get(self.data.query_variable_selector)).strip()
        inputs = {"query": query}
        if not query:
            raise RetrievalFailed("Query is required.")
        if not self.data.dataset_ids:
            return NodeResult(inputs=inputs, outputs={"result": []})
        missing = await knowledge.missing_datasets(self.data.dataset_ids)
        if missing:
            raise RetrievalFailed(
                f"Dataset {missing[0]} used by this node does not exist on this server: create "
                "it or re-point the node at an existing knowledge base."
            )
        conditions = self._conditions(ctx)
        usage = None
        try:
            if self.data.retrieval_mode == "single":
                hits, usage = await self._single(ctx, knowledge, query, conditions)
            else:
                hits = await knowledge.search(
                    self.data.dataset_ids, query, self.data.multiple_retrieval_config, conditions
                )
        except KawaError as exc:
            raise RetrievalFailed(exc.message) from None
        return NodeResult(
            inputs=inputs,
            outputs={"result": hits},
            usage=node_usage(usage) if usage is not None else None,
        )

    def _conditions(self, ctx: NodeContext) -> MetadataFilter | None:
        data = self.data
        if data.metadata_filtering_mode != "manual" or data.metadata_filtering_conditions is None:
            return None
        rendered = tuple(
            MetadataCondition(
                name=c.name,
                comparison_operator=c.comparison_operator,
                value=render_text(c.value, ctx.pool) if isinstance(c.value, str) else c.value,
            )
            for c in data.metadata_filtering_conditions.conditions
        )
        return MetadataFilter(data.metadata_filtering_conditions.logical_operator, rendered)

    async def _single(
        self, ctx: NodeContext, knowledge: KnowledgeSearch, query: str, conditions: MetadataFilter | None
    ) -> tuple[list[RetrievedItem], Usage | None]:
        ids = list(dict.fromkeys(self.data.dataset_ids))
        datasets = await knowledge.describe_datasets(ids)
        usage = None
        chosen = datasets[0] if len(datasets) == 1 else None
        model = self.data.single_retrieval_config.model if self.data.single_retrieval_config else None
        if chosen is None and model is not None and ctx.services.models is not None:
            listing = "\n".join(f"{n}. {d.name}: {d.description or d.name}" for n, d in enumerate(datasets, 1))
            messages = [
                ChatMessage.system(
                    "Pick the one knowledge base most likely to answer the user's question. Reply with JSON only: "
                    '{"number": <n>}.\nKnowledge bases:\n' + listing
                ),
                ChatMessage.user(query),
            ]
            try:
                result = await call_model(ctx, model, messages)
                usage = result.usage
                number = (parse_json_object(result.text) or {}).get("number")
                if isinstance(number, int | str) and str(number).isdigit() and 1 <= int(number) <= len(datasets):
                    chosen = datasets[int(number) - 1]
            except (KawaError, NodeError):
                chosen = None
        if chosen is None:
            # No router answer: the dataset whose best hit is best.
            return await knowledge.search_best_dataset(ids, query, conditions), usage
        return await knowledge.search_dataset(chosen.id, query, conditions), usage
