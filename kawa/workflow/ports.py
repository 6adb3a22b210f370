"""The capabilities nodes depend on, as Protocols: code runner, model calls, outbound HTTP, file reading and saving,
knowledge search, tools. `NodeServices` (runtime.py) carries one implementation of each, built by the app layer.

Nodes depend on these seams only, so tests pass real components with the same shape and the workflow package
never imports the packages that implement them (knowledge search is adapted over `kawa.knowledge` in `kawa.apps`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

import httpx

from kawa.models.registry import ResolvedModel
from kawa.models.types import ChatChunk, ChatCompletionRequest
from kawa.sandbox.settings import SandboxSettings
from kawa.tools.tool import ToolOutput


class CodeRunner(Protocol):
    """Runs a `code` node's `main` (a `kawa.sandbox.CodeSandbox`); its settings' output limits apply to results."""

    @property
    def config(self) -> SandboxSettings: ...

    async def run(
        self, language: str, code: str, inputs: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ToolRef:
    """A tool as an app names it: Dify's provider type (`builtin`, `plugin`, `workflow`, `mcp`, `api`), provider id
    (`time`, `langgenius/time/time`, a workflow tool's id, an MCP server's id) and tool name."""

    provider_type: str
    provider_id: str
    tool_name: str


class RunnableTool(Protocol):
    """One tool the tool and agent nodes can call: its names, a JSON schema of its arguments (for a model), and the
    call. A bad call raises `kawa.tools.ToolError` with a message for the user or model."""

    @property
    def provider(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> Mapping[str, Any]: ...

    async def call(self, arguments: Mapping[str, Any], *, user_id: str) -> ToolOutput: ...


class ToolCatalog(Protocol):
    """Finds the tools of a running server: built-in tools, MCP servers' tools, workflows published as tools."""

    async def find(self, ref: ToolRef) -> RunnableTool | None: ...


class ChatModels(Protocol):
    """Model calls of the llm, question-classifier, parameter-extractor and knowledge-retrieval nodes
    (a `kawa.models.ModelRuntime`)."""

    def resolve_chat(self, provider_id: str, model: str) -> ResolvedModel: ...

    def chat_stream(self, provider_id: str, request: ChatCompletionRequest) -> AsyncGenerator[ChatChunk, None]: ...


class HttpClientFactory(Protocol):
    """Builds the outbound HTTP client of http-request nodes and remote file downloads (a
    `kawa.net.ssrf.GuardedClientFactory`: it refuses private addresses unless allowed)."""

    def __call__(self, *, verify: bool = True, timeout: httpx.Timeout | float | None = 10.0) -> httpx.AsyncClient: ...


FileReader = Callable[[str], Awaitable[bytes]]
"""`await read(upload_file_id) -> bytes`: the content of an uploaded file of the running app."""


@dataclass(frozen=True, slots=True)
class FileOwner:
    """Whose run produced a file: the app and the end user (`sys.app_id`, `sys.user_id`)."""

    app_id: str
    user_id: str


class FileSaver(Protocol):
    """Keeps bytes a node produced (an http-request file response) and returns the file value (Dify's
    `File.to_dict()` mapping) that nodes and run outputs carry."""

    async def save(self, content: bytes, *, filename: str, mime_type: str, owner: FileOwner) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class MetadataCondition:
    """One rendered condition of a manual metadata filter (`name <operator> value`)."""

    name: str
    comparison_operator: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class MetadataFilter:
    logical_operator: Literal["and", "or"]
    conditions: tuple[MetadataCondition, ...]


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """What the single-mode router model chooses from."""

    id: str
    name: str
    description: str


class RetrievedItem(TypedDict):
    """One item of the knowledge-retrieval node's `result` (metadata carries `_source: "knowledge"`)."""

    content: str
    title: str
    metadata: dict[str, Any]


class KnowledgeSearch(Protocol):
    """Searching the server's knowledge bases. Failures raise `kawa.errors.KawaError` (shown as the node error)."""

    async def missing_datasets(self, dataset_ids: Sequence[str]) -> list[str]: ...

    async def describe_datasets(self, dataset_ids: Sequence[str]) -> list[DatasetSummary]:
        """The datasets in the order given (each id once); every id exists."""
        ...

    async def search(
        self,
        dataset_ids: Sequence[str],
        query: str,
        settings: Mapping[str, Any] | None,
        metadata_filter: MetadataFilter | None,
    ) -> list[RetrievedItem]:
        """Across `dataset_ids` with the node's `multiple_retrieval_config` (top_k, threshold, weights, rerank)."""
        ...

    async def search_dataset(
        self, dataset_id: str, query: str, metadata_filter: MetadataFilter | None
    ) -> list[RetrievedItem]:
        """One dataset, with its own retrieval settings."""
        ...

    async def search_best_dataset(
        self, dataset_ids: Sequence[str], query: str, metadata_filter: MetadataFilter | None
    ) -> list[RetrievedItem]:
        """Single mode without a router answer: the dataset whose best hit is best, with its own settings."""
        ...
