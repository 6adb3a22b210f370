"""What a code node's `main` sees and returns, in python3 and javascript."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import pytest

from kawa.sandbox.errors import CodeExecutionError, SandboxUnavailableError
from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings

HAS_TZDATA = Path("/usr/share/zoneinfo/Asia/Tokyo").exists()


async def test_python_main_gets_inputs_as_keyword_arguments(sandbox: CodeSandbox) -> None:
    code = "def main(a: int, b: str) -> dict:\n    return {'result': b * a}\n"
    assert await sandbox.run("python3", code, {"a": 3, "b": "ab"}) == {"result": "ababab"}


async def test_javascript_main_gets_one_object_that_may_be_destructured(sandbox: CodeSandbox) -> None:
    code = "function main({a, b}) {\n  return { result: b.repeat(a) };\n}\n"
    assert await sandbox.run("javascript", code, {"a": 2, "b": "xy"}) == {"result": "xyxy"}


async def test_javascript_async_main_is_awaited(sandbox: CodeSandbox) -> None:
    code = "async function main(obj) { const v = await Promise.resolve(obj.n + 1); return { v }; }"
    assert await sandbox.run("javascript", code, {"n": 41}) == {"v": 42}


async def test_python_can_import_the_standard_library(sandbox: CodeSandbox) -> None:
    code = (
        "import json, math, re, datetime, decimal, hashlib, base64\n"
        "def main(s):\n"
        "    return {'h': hashlib.sha256(s.encode()).hexdigest()[:8], 'j': json.dumps({'k': math.floor(2.5)}),\n"
        "            'd': str(decimal.Decimal('1.10') + decimal.Decimal('2.20')),\n"
        "            'b': base64.b64encode(b'x').decode()}\n"
    )
    result = await sandbox.run("python3", code, {"s": "kawa"})
    assert result == {"h": hashlib.sha256(b"kawa").hexdigest()[:8], "j": '{"k": 2}', "d": "3.30", "b": "eA=="}


async def test_python_exception_message_names_the_error_and_the_line(sandbox: CodeSandbox) -> None:
    code = "def main():\n    x = 1\n    return {'r': x / 0}\n"
    with pytest.raises(CodeExecutionError) as caught:
        await sandbox.run("python3", code, {})
    assert "ZeroDivisionError: division by zero" in caught.value.message
    assert 'File "<code>", line 3, in main' in caught.value.message


async def test_javascript_exception_message_is_the_users_error(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError) as caught:
        await sandbox.run("javascript", "function main() { throw new TypeError('bad input'); }", {})
    assert caught.value.message.startswith("TypeError: bad input")
    assert "node:vm" not in caught.value.message


async def test_python_syntax_error_is_reported(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="SyntaxError"):
        await sandbox.run("python3", "def main(:\n    return {}\n", {})


async def test_missing_main_is_reported(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="must define a function `main`"):
        await sandbox.run("python3", "x = 1\n", {})
    with pytest.raises(CodeExecutionError, match="must define a function `main`"):
        await sandbox.run("javascript", "const x = 1;", {})


async def test_result_that_is_not_a_dict_is_refused(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="Result must be a dict, got list"):
        await sandbox.run("python3", "def main():\n    return [1, 2]\n", {})
    with pytest.raises(CodeExecutionError, match="Result must be an object, got array"):
        await sandbox.run("javascript", "function main() { return [1, 2]; }", {})


async def test_result_that_is_not_json_is_refused(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="not JSON serializable"):
        await sandbox.run("python3", "def main():\n    return {'s': {1, 2}}\n", {})


async def test_print_and_console_log_do_not_disturb_the_result(sandbox: CodeSandbox) -> None:
    py = "import os\ndef main():\n    print('noise')\n    os.write(1, b'raw noise')\n    return {'ok': True}\n"
    assert await sandbox.run("python3", py, {}) == {"ok": True}
    js = "function main() { console.log('noise'); return { ok: true }; }"
    assert await sandbox.run("javascript", js, {}) == {"ok": True}


async def test_unsupported_language_is_refused(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="Unsupported code language: ruby"):
        await sandbox.run("ruby", "def main; end", {})


async def test_one_run_cannot_leave_state_for_the_next(sandbox: CodeSandbox) -> None:
    poison = "import builtins, json\ndef main():\n    builtins.leak = 1\n    json.dumps = None\n    return {}\n"
    check = "import builtins, json\ndef main():\n    return {'leak': hasattr(builtins, 'leak'), 'j': json.dumps(1)}\n"
    for _ in range(3):  # every worker of the pool gets poisoned in turn
        await sandbox.run("python3", poison, {})
        assert await sandbox.run("python3", check, {}) == {"leak": False, "j": "1"}
    await sandbox.run("javascript", "function main() { globalThis.leak = 1; JSON.stringify = null; return {}; }", {})
    js_check = "function main() { return { leak: typeof leak, j: JSON.stringify(1) }; }"
    assert await sandbox.run("javascript", js_check, {}) == {"leak": "undefined", "j": "1"}


async def test_concurrent_runs_beyond_the_pool_size_all_complete(sandbox: CodeSandbox) -> None:
    code = "import time\ndef main(i):\n    time.sleep(0.05)\n    return {'i': i}\n"
    results = await asyncio.gather(*(sandbox.run("python3", code, {"i": i}) for i in range(6)))
    assert [r["i"] for r in results] == list(range(6))


async def test_missing_node_makes_javascript_unavailable_but_not_python() -> None:
    config = SandboxSettings(python_workers=1, javascript_workers=1, node_path="/nonexistent/node")
    async with CodeSandbox(config) as broken:
        with pytest.raises(SandboxUnavailableError, match="javascript sandbox is not available"):
            await broken.run("javascript", "function main() { return {}; }", {})
        assert await broken.run("python3", "def main():\n    return {'ok': True}\n", {}) == {"ok": True}


async def test_inputs_that_are_not_json_are_refused_before_reaching_a_worker(sandbox: CodeSandbox) -> None:
    with pytest.raises(CodeExecutionError, match="cannot be serialised to JSON"):
        await sandbox.run("python3", "def main(x):\n    return {}\n", {"x": object()})


async def test_python_can_use_time_zones(sandbox: CodeSandbox) -> None:
    code = (
        "import datetime, zoneinfo\n"
        "def main():\n"
        "    moment = datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc)\n"
        "    return {'tokyo': moment.astimezone(zoneinfo.ZoneInfo('Asia/Tokyo')).isoformat()}\n"
    )
    if not HAS_TZDATA:
        pytest.skip("no time zone database on this machine")
    assert await sandbox.run("python3", code, {}) == {"tokyo": "2024-01-01T21:00:00+09:00"}


async def test_javascript_has_atob_and_btoa(sandbox: CodeSandbox) -> None:
    code = "function main({s}) { const e = btoa(s); return { e, d: atob(e), p: btoa('ab'), q: atob('YWI=') }; }"
    assert await sandbox.run("javascript", code, {"s": "kawa!"}) == {
        "e": base64.b64encode(b"kawa!").decode(),
        "d": "kawa!",
        "p": "YWI=",
        "q": "ab",
    }


async def test_named_tuples_with_defaults_work(sandbox: CodeSandbox) -> None:
    """They set `__new__.__defaults__`, which the audit hook refuses only on itself."""
    code = (
        "import collections, typing\n"
        "Point = collections.namedtuple('Point', 'x y', defaults=[0])\n"
        "class Pair(typing.NamedTuple):\n"
        "    a: int\n"
        "    b: int = 2\n"
        "def main():\n"
        "    def f(x=1):\n"
        "        return x\n"
        "    f.__defaults__ = (5,)\n"
        "    return {'p': Point(1).y, 'q': Pair(1).b, 'f': f()}\n"
    )
    assert await sandbox.run("python3", code, {}) == {"p": 0, "q": 2, "f": 5}


async def test_the_zygotes_objects_are_frozen_out_of_the_collector(sandbox: CodeSandbox) -> None:
    """A collection in a run must not walk (and so copy, page by page) everything the zygote preloaded."""
    code = "import gc\ndef main():\n    return {'frozen': gc.get_freeze_count()}\n"
    assert (await sandbox.run("python3", code, {}))["frozen"] > 10_000
