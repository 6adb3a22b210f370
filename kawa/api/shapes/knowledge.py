"""Dify's documented success bodies of the knowledge operations (datasets, documents, segments, child chunks,
metadata, tags, retrieval) and the workspace's model listing."""

from __future__ import annotations

from kawa.api.shapes.base import JsonObject, NumberedPage, Shape


class TagRef(Shape):
    id: str
    name: str
    type: str


class MetadataField(Shape):
    id: str
    name: str
    type: str


class Dataset(Shape):
    id: str
    name: str
    description: str | None
    provider: str
    permission: str
    data_source_type: str | None
    indexing_technique: str | None
    app_count: int
    document_count: int
    word_count: int
    created_by: str
    created_at: int | float
    updated_by: str | None
    updated_at: int | float
    embedding_model: str | None
    embedding_model_provider: str | None
    embedding_available: bool | None
    retrieval_model_dict: JsonObject | None
    tags: list[TagRef]
    doc_form: str | None
    external_knowledge_info: JsonObject | None
    external_retrieval_model: JsonObject | None
    doc_metadata: list[MetadataField]
    built_in_field_enabled: bool


class Datasets(NumberedPage):
    data: list[Dataset]


class DocumentMetadataValue(Shape):
    id: str
    name: str
    type: str
    value: str | int | float | None


class Document(Shape):
    id: str
    position: int
    data_source_type: str
    data_source_info: JsonObject | None
    dataset_process_rule_id: str | None
    name: str
    created_from: str
    created_by: str
    created_at: int | float
    tokens: int | None
    indexing_status: str
    error: str | None
    enabled: bool
    disabled_at: int | float | None
    disabled_by: str | None
    archived: bool
    display_status: str | None
    word_count: int | None
    hit_count: int | None
    doc_form: str
    doc_metadata: list[DocumentMetadataValue] | None


class DocumentBatch(Shape):
    document: Document
    batch: str


class Documents(NumberedPage):
    data: list[Document]


class DocumentDetail(Shape):
    id: str
    position: int
    data_source_type: str
    data_source_info: JsonObject | None
    dataset_process_rule_id: str | None
    name: str
    created_from: str
    created_by: str
    created_at: int | float
    tokens: int | None
    indexing_status: str
    error: str | None
    enabled: bool
    archived: bool
    display_status: str | None
    hit_count: int | None
    doc_form: str
    doc_metadata: list[DocumentMetadataValue] | None
    completed_at: int | float | None
    segment_count: int
    average_segment_length: int | float


class IndexingStatus(Shape):
    id: str
    indexing_status: str
    processing_started_at: int | float | None
    parsing_completed_at: int | float | None
    cleaning_completed_at: int | float | None
    splitting_completed_at: int | float | None
    completed_at: int | float | None
    paused_at: int | float | None
    error: str | None
    stopped_at: int | float | None
    completed_segments: int
    total_segments: int


class IndexingStatuses(Shape):
    data: list[IndexingStatus]


class DownloadUrl(Shape):
    url: str


class ChildChunk(Shape):
    id: str
    segment_id: str
    content: str
    position: int
    word_count: int
    type: str
    created_at: int | float
    updated_at: int | float


class Segment(Shape):
    id: str
    position: int
    document_id: str
    content: str
    answer: str | None
    word_count: int
    tokens: int
    keywords: list[str] | None
    index_node_id: str | None
    index_node_hash: str | None
    hit_count: int
    enabled: bool
    disabled_at: int | float | None
    disabled_by: str | None
    status: str
    created_by: str
    created_at: int | float
    indexing_at: int | float | None
    completed_at: int | float | None
    error: str | None
    stopped_at: int | float | None
    child_chunks: list[ChildChunk] | None


class Segments(Shape):
    data: list[Segment]
    doc_form: str


class SegmentPage(Segments):
    total: int
    has_more: bool
    limit: int
    page: int


class OneSegment(Shape):
    data: Segment
    doc_form: str


class OneChildChunk(Shape):
    data: ChildChunk


class ChildChunks(Shape):
    data: list[ChildChunk]
    total: int
    total_pages: int
    page: int
    limit: int


class RecordDocument(Shape):
    id: str
    data_source_type: str
    name: str


class RecordSegment(Shape):
    id: str
    position: int
    document_id: str
    content: str
    word_count: int
    tokens: int
    keywords: list[str] | None
    hit_count: int
    enabled: bool
    status: str
    document: RecordDocument


class RetrieveRecord(Shape):
    segment: RecordSegment
    score: float | None
    tsne_position: JsonObject | None


class RetrieveQuery(Shape):
    content: str


class Retrieve(Shape):
    query: RetrieveQuery
    records: list[RetrieveRecord]


class Tag(Shape):
    id: str
    name: str
    type: str
    binding_count: str | None


class DatasetTag(Shape):
    id: str
    name: str


class DatasetTags(Shape):
    data: list[DatasetTag]
    total: int


class MetadataCount(MetadataField):
    count: int


class DatasetMetadata(Shape):
    doc_metadata: list[MetadataCount]
    built_in_field_enabled: bool


class BuiltInField(Shape):
    name: str
    type: str


class BuiltInFields(Shape):
    fields: list[BuiltInField]


class I18n(Shape):
    en_US: str


class ProviderModel(Shape):
    model: str
    label: I18n
    model_type: str
    features: list[str] | None
    fetch_from: str
    model_properties: JsonObject
    status: str


class ProviderModels(Shape):
    provider: str
    label: I18n
    status: str
    models: list[ProviderModel]


class ModelTypes(Shape):
    data: list[ProviderModels]
