"""The services a running kawa needs, built once at start-up and passed in (no module-level singletons)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from kawa.apps.annotations.reply import AnnotationReplyMode
from kawa.apps.annotations.service import AnnotationService
from kawa.apps.file_saver import UploadFileSaver
from kawa.apps.knowledge_search import KnowledgeBaseSearch
from kawa.apps.mcp_publishing import AppMcpPublisher
from kawa.apps.modes.chatflow import ChatflowMode
from kawa.apps.modes.easy_ui.knowledge_citations import KnowledgeCitationRetriever
from kawa.apps.modes.easy_ui.mode import EasyUIMode
from kawa.apps.modes.naming_and_suggestions import ConversationNamer, Suggester
from kawa.apps.runners.chat_runner import ChatRunner
from kawa.apps.runners.event_log import RunEventLog
from kawa.apps.runners.form_timer import FormTimer
from kawa.apps.runners.hub_link import WorkerHubLink
from kawa.apps.runners.leases import LeaseKeeper
from kawa.apps.runners.run_pauses import RunPauses
from kawa.apps.runners.supervisor import TaskSupervisor
from kawa.apps.runners.turn import ChatMode
from kawa.apps.runners.workflow_runner import WorkflowRunner
from kawa.apps.tool_catalog import ServerToolCatalog
from kawa.apps.workflow_tools import WorkflowTools
from kawa.files.storage import FileStorage, build_storage
from kawa.knowledge.service import KnowledgeBase
from kawa.models.registry import ModelRuntime
from kawa.net.egress_proxy import EgressProxy
from kawa.net.ssrf import GuardedClientFactory, TargetPolicy
from kawa.sandbox.egress import ProxyEndpoint
from kawa.sandbox.pool import CodeSandbox
from kawa.settings import Settings
from kawa.store.annotations import AnnotationStore
from kawa.store.apps import AppStore
from kawa.store.conversations import ConversationStore
from kawa.store.database import Database
from kawa.store.durable_runs import DurableRunStore
from kawa.store.end_users import EndUserStore
from kawa.store.files import UploadFileStore
from kawa.store.keys import KeyStore
from kawa.store.leases import RecordLeases
from kawa.store.mcp_servers import McpServerStore
from kawa.store.messages import MessageStore
from kawa.store.migrate import upgrade
from kawa.store.runs import RunStore, process_identity
from kawa.telemetry.sampler import StateSampler
from kawa.telemetry.telemetry import Telemetry
from kawa.tools.mcp.client import McpToolbox
from kawa.workflow.ports import FileSaver, ToolCatalog
from kawa.workflow.runtime import NodeServices

log = logging.getLogger("kawa")


@dataclass
class Services:
    """Everything the HTTP layer and the CLI use; `tasks` supervises every run and message of this process."""

    settings: Settings
    db: Database
    storage: FileStorage
    apps: AppStore
    keys: KeyStore
    end_users: EndUserStore
    files: UploadFileStore
    runs: RunStore
    tasks: TaskSupervisor
    workflow_runner: WorkflowRunner
    models: ModelRuntime
    conversations: ConversationStore
    messages: MessageStore
    chat_runner: ChatRunner
    suggester: Suggester
    knowledge: KnowledgeBase
    mcp_servers: McpServerStore
    mcp_publisher: AppMcpPublisher
    sandbox: CodeSandbox
    annotations: AnnotationService
    telemetry: Telemetry
    pauses: RunPauses
    """Paused runs, their Human Input forms and every run's event log (re-attach)."""


@dataclass(frozen=True)
class WorkerRole:
    """This process is worker `index` of `kawa serve --workers N`: it shares stop, limits and conversation turns
    with its siblings through `hub`, and only the `first` worker of the first start re-queues half-indexed
    documents (without Redis each worker indexes in-process; two would index the same document)."""

    hub: WorkerHubLink
    index: int
    first: bool


@asynccontextmanager
async def build_node_services(
    settings: Settings,
    models: ModelRuntime,
    *,
    warm: bool = False,
    knowledge: KnowledgeBase | None = None,
    file_saver: FileSaver | None = None,
    tools: ToolCatalog | None = None,
    sandbox: CodeSandbox | None = None,
) -> AsyncIterator[NodeServices]:
    """What workflow nodes may use: the code sandbox, SSRF-guarded HTTP, models, knowledge search, and where files
    they produce are kept (without `file_saver`, as in `kawa run`, such files are reported, not kept). Closed on exit.

    The sandbox is the caller's when given (the server keeps it to report its health); otherwise one is opened here
    and starts its workers on first use, or at once with `warm`.
    """
    async with AsyncExitStack() as stack:
        if sandbox is None:
            sandbox = await stack.enter_async_context(open_code_sandbox(settings, warm=warm))
        yield NodeServices(
            code_runner=sandbox,
            http_client_factory=GuardedClientFactory(settings.http_request.allowed_targets),
            file_saver=file_saver,
            models=models,
            knowledge=KnowledgeBaseSearch(knowledge) if knowledge is not None else None,
            tools=tools,
        )


@asynccontextmanager
async def open_code_sandbox(settings: Settings, *, warm: bool = False) -> AsyncIterator[CodeSandbox]:
    """The code sandbox and the egress proxy its network goes through; closed on exit. `warm` starts the workers
    at once (the server does that), otherwise they start on first use."""
    # Code nodes' HTTP(S) goes through this proxy, under the http-request node's SSRF policy.
    egress = EgressProxy(TargetPolicy(settings.http_request.allowed_targets)) if settings.sandbox.network else None
    if egress is not None:
        await egress.start()
    sandbox = CodeSandbox(settings.sandbox, proxy=ProxyEndpoint(egress.unix_path, egress.port) if egress else None)
    if warm:
        await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()
        if egress is not None:
            await egress.close()


@asynccontextmanager
async def open_services(
    settings: Settings, *, migrate: bool = True, recover_runs: bool = False, worker: WorkerRole | None = None
) -> AsyncIterator[Services]:
    """Open the database (migrating it to the newest schema), storage and task supervisor; close them on exit.

    With `recover_runs` (the server does this at start), runs left `running` by a process that is gone are marked
    `failed`, so no run stays `running` forever after a crash, and documents left half-indexed are indexed again.
    At exit the supervisor first cancels the runs and messages still in progress (they record how they ended),
    then the node services, models and database close.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, settings.database)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(db.dispose)
        if migrate:
            await upgrade(db)
        storage = build_storage(settings.storage, settings.files_dir)
        leases = RecordLeases(db, settings.leases, owner=process_identity())
        runs = RunStore(db, leases=leases)
        if recover_runs and (recovered := await runs.fail_orphans()):
            log.warning("marked %d run(s) of a stopped server as failed", recovered)
        apps, end_users, files = AppStore(db), EndUserStore(db), UploadFileStore(db)
        telemetry = Telemetry.build(settings.telemetry)  # metrics always; traces when configured
        stack.callback(telemetry.close)
        models = telemetry.model_runtime(settings.models)
        stack.push_async_callback(models.aclose)
        knowledge = KnowledgeBase(
            db,
            storage,
            models,
            settings.knowledge,
            redis_url=settings.redis_url,
            graph_cache=settings.home / "vector-graphs",
        )
        shared_indexing = bool(settings.redis_url) or worker is None or worker.first
        await knowledge.start(recover=recover_runs and shared_indexing)
        stack.push_async_callback(knowledge.close)
        mcp_tools = McpToolbox(settings.mcp)
        stack.push_async_callback(mcp_tools.aclose)
        sandbox = await stack.enter_async_context(open_code_sandbox(settings, warm=recover_runs))
        node_services = await stack.enter_async_context(
            build_node_services(
                settings,
                models,
                sandbox=sandbox,
                knowledge=knowledge,
                tools=ServerToolCatalog(mcp_tools, workflow_tools := WorkflowTools(apps)),
                file_saver=UploadFileSaver(
                    files, end_users, storage, base_url=settings.base_url, signing_key=settings.signing_key()
                ),
            )
        )
        node_services = telemetry.instrument(node_services)
        keeper = LeaseKeeper(leases)  # renews this process's leases, marks lapsed ones failed; stops after `tasks`
        keeper.start()
        stack.push_async_callback(keeper.close)
        pauses = RunPauses(DurableRunStore(db, leases=leases), RunEventLog(DurableRunStore(db, leases=leases)))
        stack.push_async_callback(pauses.events.shutdown)  # after `tasks`: the runs it cancels log their last events
        tasks = TaskSupervisor(
            max_active_requests=settings.max_active_requests,
            redis_url=settings.redis_url,
            hub=worker.hub if worker is not None else None,
        )
        await tasks.start()
        stack.push_async_callback(tasks.close)
        if telemetry.metrics is not None:
            sampler = StateSampler(
                telemetry.metrics,
                db,
                sandbox,
                redis_links={"stop": lambda: tasks.redis_link, "indexing": lambda: knowledge.jobs.queue.link},
            )
            sampler.start()
            stack.push_async_callback(sampler.close)
        runner = WorkflowRunner(
            settings=settings,
            apps=apps,
            end_users=end_users,
            files=files,
            runs=runs,
            tasks=tasks,
            node_services=node_services,
            read_upload=files.reader(storage),
            pauses=pauses,
        )
        workflow_tools.bind(runner)
        if recover_runs:  # the form timer of every serving process expires forms and resumes answered runs
            form_timer = FormTimer(pauses.store, runner.resume)
            pauses.form_created = form_timer.form_created
            form_timer.start()
            stack.push_async_callback(form_timer.close)
        conversations, messages = ConversationStore(db), MessageStore(db, leases=leases)
        easy_ui = EasyUIMode(
            models,
            retriever=KnowledgeCitationRetriever(knowledge),
            read_upload=files.reader(storage),
            file_saver=node_services.file_saver,
        )
        annotations = AnnotationService(AnnotationStore(db), models)
        stack.push_async_callback(annotations.close)
        chatflow = ChatflowMode(
            graphs=runner.graphs,
            runs=runs,
            conversations=conversations,
            node_services=node_services,
            limits=runner.limits,
        )
        modes: dict[str, ChatMode] = {  # annotation reply answers before the model where Dify offers it
            "advanced-chat": AnnotationReplyMode(chatflow, annotations),
            "chat": AnnotationReplyMode(easy_ui, annotations),
            "agent-chat": AnnotationReplyMode(easy_ui, annotations),
            "completion": easy_ui,
        }
        chat_runner = ChatRunner(
            settings=settings,
            apps=apps,
            end_users=end_users,
            files=files,
            conversations=conversations,
            messages=messages,
            tasks=tasks,
            modes=modes,
            namer=ConversationNamer(models),
            speech=models,
        )
        mcp_servers = McpServerStore(db)
        mcp_publisher = AppMcpPublisher(servers=mcp_servers, apps=apps, workflows=runner, chats=chat_runner)
        yield Services(
            settings=settings,
            db=db,
            storage=storage,
            apps=apps,
            keys=KeyStore(db),
            end_users=end_users,
            files=files,
            runs=runs,
            tasks=tasks,
            workflow_runner=runner,
            models=models,
            conversations=conversations,
            messages=messages,
            chat_runner=chat_runner,
            suggester=Suggester(models, messages),
            mcp_servers=mcp_servers,
            mcp_publisher=mcp_publisher,
            knowledge=knowledge,
            sandbox=sandbox,
            annotations=annotations,
            telemetry=telemetry,
            pauses=pauses,
        )
