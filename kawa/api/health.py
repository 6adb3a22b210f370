"""Liveness (`/healthz`) and readiness (`/readyz`) for orchestrators and load balancers, with JSON bodies.

`/healthz` answers 200 while the process serves requests; its body is `degraded` and names the parts that are down
(say Redis: cross-process stop and shared indexing are off until it returns). `/readyz` answers 503 unless this
process can do all of its work: the database answers, its schema is at the newest migration, Redis (when
configured) is connected, and the code sandbox's pools are up. The bodies hold states and counts, never hosts,
ports or error text: they are served without authentication.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kawa import __version__
from kawa.net.reconnect import LinkState
from kawa.services import Services
from kawa.store.database import DatabaseFailure
from kawa.store.migrate import applied_revisions, head_revisions

CHECK_TIMEOUT_S = 2.0
"""Longest a database check may take; a database slower than this is reported unreachable."""

router = APIRouter(tags=["ops"])
Check = dict[str, Any]


@router.get("/healthz", summary="Liveness: 200 while the process serves; the body names degraded parts")
async def healthz(request: Request) -> JSONResponse:
    checks = await _checks(request.app.state.services)
    degraded = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "degraded" if degraded else "ok", "version": __version__, "degraded": degraded, **checks}
    return JSONResponse(body)


@router.get("/readyz", summary="Readiness: 503 unless the database, migrations, Redis and the sandbox are ready")
async def readyz(request: Request) -> JSONResponse:
    checks = await _checks(request.app.state.services)
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "not_ready" if failing else "ready", "version": __version__, "failing": failing, **checks}
    return JSONResponse(body, status_code=503 if failing else 200)


async def _checks(services: Services) -> dict[str, Check]:
    database = await _database(services)
    return {
        "database": database,
        "migrations": await _migrations(services) if database["ok"] else {"ok": False, "state": "unknown"},
        "redis": _redis(services),
        "sandbox": _sandbox(services),
        "knowledge": services.knowledge.search_status(),
    }


async def _database(services: Services) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(services.db.ping(), CHECK_TIMEOUT_S)
    except (TimeoutError, DatabaseFailure, OSError):
        return {"ok": False, "state": "unreachable"}
    return {"ok": True, "state": "reachable", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def _migrations(services: Services) -> Check:
    try:
        applied = await asyncio.wait_for(applied_revisions(services.db), CHECK_TIMEOUT_S)
    except (TimeoutError, DatabaseFailure, OSError):
        return {"ok": False, "state": "unknown"}
    expected = head_revisions()
    current = applied == expected
    return {
        "ok": current,
        "state": "current" if current else "pending",
        "applied": sorted(applied or ()),
        "expected": sorted(expected),
    }


def _redis(services: Services) -> Check:
    if not services.settings.redis_url:
        return {"ok": True, "state": "not_configured"}
    links = {"stop": services.tasks.redis_link, "indexing": services.knowledge.jobs.queue.link}
    reports = {name: _link(link) for name, link in links.items() if link is not None}
    connected = all(report["connected"] for report in reports.values())
    return {"ok": connected, "state": "connected" if connected else "unreachable", "links": reports}


def _link(link: LinkState) -> dict[str, Any]:
    report = link.report()
    return {"connected": report.connected, "down_for_s": report.down_for_s, "reconnects": report.reconnects}


def _sandbox(services: Services) -> Check:
    pools = services.sandbox.pool_status()
    warm = {
        "python3": services.settings.sandbox.python_workers,
        "javascript": services.settings.sandbox.javascript_workers,
    }
    # A language configured with warm workers needs one alive or starting; one with none starts them on first use.
    down = [p.language for p in pools if warm.get(p.language, 0) > 0 and p.alive + p.starting == 0]
    ok = bool(pools) and not down
    return {
        "ok": ok,
        "state": "up" if ok else ("not_started" if not pools else "down"),
        "pools": {p.language: {"slots": p.slots, "alive": p.alive, "starting": p.starting} for p in pools},
    }
