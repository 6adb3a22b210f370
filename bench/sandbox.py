"""Benchmark of the code sandbox: prints ms per trivial code call, cold and warm, python3 and javascript.

Run: `python bench/sandbox.py [--calls N]`. Cold = a new CodeSandbox's first call (worker start included);
warm = sequential calls on a started pool, measured end to end around `CodeSandbox.run`. For python3 it also
alternates the trivial node with the same node doing `import requests` (and with `requests, httpx, jinja2`) on one
pool and prints the median of each and the difference: the default packages are preloaded by the zygote, so
importing them should cost a run next to nothing (the target is under 2 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kawa.net.egress_proxy import EgressProxy
from kawa.net.ssrf import TargetPolicy
from kawa.sandbox.egress import ProxyEndpoint
from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings

TRIVIAL = {
    "python3": "def main(a: int, b: int) -> dict:\n    return {'sum': a + b}\n",
    "javascript": "function main({a, b}) {\n  return { sum: a + b };\n}\n",
}


IMPORTING = {
    "import requests": "import requests\n\ndef main(a: int, b: int) -> dict:\n    return {'sum': a + b}\n",
    "import requests, httpx, jinja2": (
        "import requests, httpx, jinja2\n\ndef main(a: int, b: int) -> dict:\n    return {'sum': a + b}\n"
    ),
}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


async def cold(language: str) -> float:
    sandbox = CodeSandbox(SandboxSettings(python_workers=1, javascript_workers=1))
    began = time.perf_counter()
    await sandbox.run(language, TRIVIAL[language], {"a": 1, "b": 2})
    elapsed = time.perf_counter() - began
    await sandbox.close()
    return elapsed


async def warm(language: str, calls: int) -> tuple[list[float], list[float], float]:
    async with CodeSandbox(SandboxSettings(python_workers=2, javascript_workers=2)) as sandbox:
        await sandbox.wait_ready()
        for _ in range(20):
            await sandbox.run(language, TRIVIAL[language], {"a": 1, "b": 2})
        samples: list[float] = []
        for i in range(calls):
            began = time.perf_counter()
            await sandbox.run(language, TRIVIAL[language], {"a": i, "b": 2})
            samples.append(time.perf_counter() - began)
        paced: list[float] = []
        for i in range(min(calls, 100)):  # a workflow's code nodes rarely come back to back
            await asyncio.sleep(0.005)
            began = time.perf_counter()
            await sandbox.run(language, TRIVIAL[language], {"a": i, "b": 2})
            paced.append(time.perf_counter() - began)
        began = time.perf_counter()
        await asyncio.gather(*(sandbox.run(language, TRIVIAL[language], {"a": i, "b": 2}) for i in range(calls)))
        throughput = calls / (time.perf_counter() - began)
        print(f"  layers: {', '.join(sandbox.layers(language))}")  # type: ignore[arg-type]
    return samples, paced, throughput


async def imports(calls: int) -> None:
    """Trivial python3 node vs the same node importing the default packages, interleaved on one pool."""
    async with CodeSandbox(SandboxSettings(python_workers=2, javascript_workers=0)) as sandbox:
        await sandbox.wait_ready()
        variants = {"trivial": TRIVIAL["python3"], **IMPORTING}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for i in range(calls + 20):
            for name, code in variants.items():
                began = time.perf_counter()
                await sandbox.run("python3", code, {"a": i, "b": 2})
                if i >= 20:
                    samples[name].append(time.perf_counter() - began)
        trivial = statistics.median(samples["trivial"])
        print(f"  interleaved ({calls} calls each): trivial median {_ms(trivial)}")
        for name in IMPORTING:
            median = statistics.median(samples[name])
            print(f"    with `{name}`: median {_ms(median)}, difference {_ms(median - trivial)}")


async def proxied(calls: int) -> None:
    """A python3 node doing `requests.get` to a loopback server, through the egress proxy (and its bridge)."""

    class Hello(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    code = "import requests\n\ndef main(url: str) -> dict:\n    return {'text': requests.get(url).text}\n"
    try:
        async with EgressProxy(TargetPolicy([f"127.0.0.1:{server.server_address[1]}"])) as proxy:
            endpoint = ProxyEndpoint(proxy.unix_path, proxy.port)
            async with CodeSandbox(SandboxSettings(python_workers=2, javascript_workers=0), proxy=endpoint) as sandbox:
                await sandbox.wait_ready()
                samples: list[float] = []
                for i in range(calls + 10):
                    began = time.perf_counter()
                    await sandbox.run("python3", code, {"url": url})
                    if i >= 10:
                        samples.append(time.perf_counter() - began)
                print(
                    f"  requests.get through the egress proxy ({calls} calls): median {_ms(statistics.median(samples))}"
                )
    finally:
        server.shutdown()
        server.server_close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    for language in ("python3", "javascript"):
        print(f"{language}:")
        colds = [await cold(language) for _ in range(3)]
        samples, paced, throughput = await warm(language, args.calls)
        samples.sort()
        p90 = samples[int(len(samples) * 0.9)]
        print(f"  cold (new pool, first call): median {_ms(statistics.median(colds))}")
        print(
            f"  warm sequential ({args.calls} calls): median {_ms(statistics.median(samples))}, "
            f"p90 {_ms(p90)}, min {_ms(samples[0])}"
        )
        print(f"  warm paced (a call every ~5 ms): median {_ms(statistics.median(paced))}")
        print(f"  warm concurrent, 2 workers: {throughput:7.0f} calls/s")
        if language == "python3":
            await imports(args.calls)
            await proxied(min(args.calls, 100))


if __name__ == "__main__":
    asyncio.run(main())
