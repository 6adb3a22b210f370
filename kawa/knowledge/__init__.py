"""Knowledge bases (Dify datasets): documents chunked and embedded in the background, searched by vector, BM25 or
both, and cited as `retriever_resources`.

The API for app runners (`services.knowledge` is a `kawa.knowledge.service.KnowledgeBase`)::

    segments = await services.knowledge.retrieve(dataset_ids, query, retrieval_config)
    resources = [s.retriever_resource("api") for s in segments]   # message_end / blocking / GET /messages
    context = "\\n".join(s.context_text for s in segments)         # what the LLM reads in <context>

- `retrieval_config`: a `RetrievalConfig` (Dify's `retrieval_model` fields). For a chat app build it with
  `RetrievalConfig.from_dataset_configs(model_config["dataset_configs"])`; `None` searches each dataset with its
  own settings. The dataset ids of a chat app: `references.chat_app_dataset_ids(model_config)`.
- The result: `list[RetrievedSegment]`, best first, `position` from 1, each with dataset_id, dataset_name,
  document_id, document_name, segment_id, score, content (and child chunks in parent-child datasets).
- An unknown dataset id raises `MissingDataset` (400 `dataset_not_found`) naming it.
- `retrieve_single(dataset_ids, query)`: Dify's "single" mode without a router model (the dataset whose best hit
  is best, searched with its own settings).
- Chat, agent-chat and completion apps get all this through `kawa.apps.modes.easy_ui.knowledge_citations`, the
  easy-UI pipeline's `CitationRetriever` (wired in `open_services`).
- A knowledge-retrieval node's `result` items carry `metadata._source == "knowledge"`; an LLM node using them as
  context turns them into `retriever_resources` with `types.retriever_resources_from_context(items)`.

Modules: `chunking` (process rules, splitting), `indexing` (background jobs, batched rate-limit aware embedding),
`reembedding` (a dataset's new embedding model), `index` (per-dataset vector + BM25 indexes), `vector_index` (exact
scan or hnswlib HNSW graph), `graph_files` (graphs saved between restarts, one builder per host), `retrieval` (search,
fusion, rerank, filters), `segment_editing` (segments written by hand), `service`
(the facade), `wire` (Dify's JSON shapes), `references` (dataset ids inside app DSL). The rows are kawa.store's:
`store.datasets`, `store.documents` and `store.search_rows` are the repositories, `store.chunk_rows` builds new
chunk rows, `store.knowledge_tables` holds the tables.
"""

from __future__ import annotations

from kawa.knowledge.types import RetrievalConfig, RetrievedSegment, retriever_resources_from_context

__all__ = ["RetrievalConfig", "RetrievedSegment", "retriever_resources_from_context"]
