"""A javascript code node whose promise rejects with no handler fails its own run only: the shared node worker
keeps serving the next run (of any app or user)."""

from __future__ import annotations

import pytest

from kawa.sandbox.errors import CodeExecutionError
from kawa.sandbox.pool import CodeSandbox

STRAY_REJECTION = "async function main() { Promise.reject(new Error('nobody listens')); return { done: true }; }"
REJECTED_MAIN_NOT_AWAITED = "function main() { new Promise((_, reject) => reject('late')); return { ok: 1 }; }"


async def test_a_stray_rejection_fails_its_own_run_with_the_reason(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="nobody listens"):
        await sandbox.run("javascript", STRAY_REJECTION, {})


async def test_the_run_after_a_stray_rejection_succeeds(sandbox: CodeSandbox) -> None:
    for poison in (STRAY_REJECTION, REJECTED_MAIN_NOT_AWAITED):
        with pytest.raises(CodeExecutionError, match="Unhandled promise rejection"):
            await sandbox.run("javascript", poison, {})
        assert await sandbox.run("javascript", "function main({ n }) { return { n: n + 1 }; }", {"n": 1}) == {"n": 2}
