"""Dify's documented success bodies of the app operations (chat, completion, workflow, conversations, messages,
files, audio, app info, annotations, end users)."""

from __future__ import annotations

from kawa.api.shapes.base import JsonObject, MessageMetadata, NumberedPage, Page, Shape


class ChatBlocking(Shape):
    event: str
    task_id: str
    id: str
    message_id: str
    conversation_id: str
    mode: str
    answer: str
    metadata: MessageMetadata
    created_at: int


class CompletionBlocking(Shape):
    event: str
    task_id: str
    id: str
    message_id: str
    mode: str
    answer: str
    metadata: MessageMetadata
    created_at: int


class WorkflowRunData(Shape):
    id: str
    workflow_id: str
    status: str
    outputs: JsonObject | None
    error: str | None
    elapsed_time: float
    total_tokens: int
    total_steps: int
    created_at: int
    finished_at: int | None


class WorkflowBlocking(Shape):
    task_id: str
    workflow_run_id: str
    data: WorkflowRunData


class WorkflowRunDetail(Shape):
    id: str
    workflow_id: str
    status: str
    # Dify documents `outputs` as an object, but its Service API sends both as the stored JSON text
    inputs: JsonObject | str | None
    outputs: JsonObject | str | None
    error: str | None
    total_steps: int
    total_tokens: int
    created_at: int
    finished_at: int | None
    elapsed_time: float | None


class LogRun(Shape):
    id: str
    version: str
    status: str
    error: str | None
    elapsed_time: float
    total_tokens: int
    total_steps: int
    created_at: int
    finished_at: int | None
    exceptions_count: int
    triggered_from: str


class LogEndUser(Shape):
    id: str
    type: str
    is_anonymous: bool
    session_id: str


class WorkflowLog(Shape):
    id: str
    workflow_run: LogRun
    created_from: str
    created_by_role: str
    created_by_account: JsonObject | None
    created_by_end_user: LogEndUser | None
    created_at: int


class WorkflowLogs(NumberedPage):
    data: list[WorkflowLog]


class Suggested(Shape):
    result: str
    data: list[str]


class Upload(Shape):
    id: str
    name: str
    size: int
    extension: str | None
    mime_type: str | None
    created_by: str | None
    created_at: int
    preview_url: str | None
    source_url: str
    original_url: str | None
    user_id: str | None
    tenant_id: str | None
    conversation_id: str | None
    file_key: str | None
    reference: str | None


class EndUser(Shape):
    id: str
    tenant_id: str
    app_id: str | None
    type: str
    external_user_id: str | None
    name: str | None
    is_anonymous: bool
    session_id: str
    created_at: str
    updated_at: str


class Feedback(Shape):
    id: str
    app_id: str
    conversation_id: str
    message_id: str
    rating: str
    content: str | None
    from_source: str
    from_end_user_id: str | None
    from_account_id: str | None
    created_at: str
    updated_at: str


class Feedbacks(Shape):
    data: list[Feedback]


class Conversation(Shape):
    id: str
    name: str
    inputs: JsonObject
    status: str
    introduction: str | None
    created_at: int
    updated_at: int


class Conversations(Page):
    data: list[Conversation]


class MessageFileItem(Shape):
    id: str
    type: str
    url: str | None
    belongs_to: str | None


class MessageFeedback(Shape):
    rating: str | None


class Message(Shape):
    id: str
    conversation_id: str
    parent_message_id: str | None
    inputs: JsonObject
    query: str
    answer: str
    status: str
    error: str | None
    message_files: list[MessageFileItem]
    feedback: MessageFeedback | None
    retriever_resources: list[JsonObject]
    agent_thoughts: list[JsonObject]
    created_at: int
    message_tokens: int
    answer_tokens: int
    total_tokens: int
    provider_response_latency: float
    total_price: str | None
    currency: str | None


class Messages(Page):
    data: list[Message]


class ConversationVariable(Shape):
    id: str
    name: str
    value_type: str
    value: str | None
    description: str | None
    created_at: int
    updated_at: int


class ConversationVariables(Page):
    data: list[ConversationVariable]


class AudioText(Shape):
    text: str


class AppInfo(Shape):
    name: str
    description: str | None
    tags: list[str]
    mode: str
    author_name: str | None


class Enabled(Shape):
    enabled: bool


class SystemParameters(Shape):
    file_size_limit: int
    image_file_size_limit: int
    audio_file_size_limit: int
    video_file_size_limit: int
    workflow_file_upload_limit: int


class Parameters(Shape):
    opening_statement: str | None
    suggested_questions: list[str]
    suggested_questions_after_answer: Enabled
    speech_to_text: Enabled
    text_to_speech: JsonObject
    retriever_resource: Enabled
    annotation_reply: Enabled
    more_like_this: Enabled
    sensitive_word_avoidance: JsonObject
    user_input_form: list[JsonObject]
    file_upload: JsonObject
    system_parameters: SystemParameters


class Meta(Shape):
    tool_icons: JsonObject


class Site(Shape):
    title: str
    chat_color_theme: str | None
    chat_color_theme_inverted: bool
    icon_type: str | None
    icon: str | None
    icon_background: str | None
    icon_url: str | None
    description: str | None
    copyright: str | None
    privacy_policy: str | None
    input_placeholder: str | None
    custom_disclaimer: str | None
    default_language: str
    show_workflow_steps: bool
    use_icon_as_answer_icon: bool


class Annotation(Shape):
    id: str
    question: str | None
    answer: str | None
    hit_count: int | None
    created_at: int | None


class Annotations(NumberedPage):
    data: list[Annotation]


class AnnotationJob(Shape):
    job_id: str
    job_status: str


class AnnotationJobStatus(AnnotationJob):
    error_msg: str | None


class ServiceRoot(Shape):
    welcome: str
    api_version: str
    server_version: str


class HumanInputForm(Shape):
    form_content: str
    inputs: list[JsonObject]
    resolved_default_values: JsonObject
    user_actions: list[JsonObject]
    expiration_time: int | None
