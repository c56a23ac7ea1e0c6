"""A lean loopback HTTP/1.1 load generator (asyncio streams, keep-alive, one connection per client).

Hand-written so that the client costs little CPU next to the server on a 2-core machine (an httpx
client spends about as much CPU per request as the server). Every loop is bounded by a request count
and a wall-clock limit; every request by a client timeout. Used by ``tools/benchmark.py serve`` and
the flood test; loopback only.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple


@dataclass
class Outcome:
    status: object  # int HTTP status, or "no answer (<error>)"
    latency_s: float
    retry_after: bool = False
    ok_body: bool = False


@dataclass
class LoadResult:
    clients: int
    outcomes: List[Outcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    def summary(self) -> Dict[str, object]:
        import numpy as np

        counts: Dict[str, int] = {}
        for o in self.outcomes:
            counts[str(o.status)] = counts.get(str(o.status), 0) + 1
        ok = [o.latency_s for o in self.outcomes if o.status == 200]
        answered = [o.latency_s for o in self.outcomes if isinstance(o.status, int)]
        refused = [o for o in self.outcomes if o.status in (429, 503)]
        pct = lambda xs, q: float(np.percentile(xs, q)) * 1000 if xs else None  # noqa: E731
        return {
            "clients": self.clients, "requests": len(self.outcomes), "elapsed_s": self.elapsed_s,
            "req_per_s": len(ok) / self.elapsed_s if self.elapsed_s else 0.0,  # answered 200 per second
            "p50_ms": pct(ok, 50), "p99_ms": pct(ok, 99), "max_answer_ms": max(answered) * 1000 if answered else None,
            "status_counts": counts,
            "no_answer": sum(not isinstance(o.status, int) for o in self.outcomes),
            "refused_without_retry_after": sum(not o.retry_after for o in refused),
            "bad_200_bodies": sum(o.status == 200 and not o.ok_body for o in self.outcomes),
        }


async def _read_response(reader: asyncio.StreamReader) -> Tuple[int, Dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" not in headers:
        raise ValueError("response without Content-Length")
    return status, headers, await reader.readexactly(int(headers["content-length"]))


async def _client(host: str, port: int, jobs: Iterator[bytes], out: List[Outcome], deadline: float,
                  timeout_s: float, expect: bytes) -> None:
    reader = writer = None
    for body in jobs:
        if time.perf_counter() > deadline:
            break
        start = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
            writer.write(b"POST /predict HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (host.encode(), len(body), body))
            left = timeout_s - (time.perf_counter() - start)
            status, headers, payload = await asyncio.wait_for(_read_response(reader), max(left, 0.001))
            out.append(Outcome(status, time.perf_counter() - start, "retry-after" in headers,
                               status == 200 and expect in payload))
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, IndexError) as exc:
            out.append(Outcome(f"no answer ({type(exc).__name__})", time.perf_counter() - start))
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _run(host: str, port: int, bodies: Sequence[bytes], clients: int, time_limit_s: float,
               timeout_s: float, expect: bytes) -> LoadResult:
    jobs = iter(bodies)  # shared: each client takes the next body
    result = LoadResult(clients)
    start = time.perf_counter()
    await asyncio.gather(*(_client(host, port, jobs, result.outcomes, start + time_limit_s, timeout_s, expect)
                           for _ in range(clients)))
    result.elapsed_s = time.perf_counter() - start
    return result


def run_load(port: int, texts: Sequence[str], clients: int, requests: int, time_limit_s: float,
             timeout_s: float, host: str = "127.0.0.1", expect: bytes = b'"result"') -> LoadResult:
    """``requests`` single-text POSTs (cycling over ``texts``) by ``clients`` concurrent clients."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"`host` must be loopback, got {host!r}")
    bodies = [json.dumps({"text": texts[i % len(texts)]}, ensure_ascii=False).encode() for i in range(requests)]
    return asyncio.run(_run(host, port, bodies, clients, time_limit_s, timeout_s, expect))


def wait_healthy(port: int, timeout_s: float, proc=None, host: str = "127.0.0.1") -> None:
    """Poll ``GET /health`` until 200 (raises if ``proc`` exits or ``timeout_s`` passes)."""
    import urllib.request

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server not healthy after {timeout_s:.0f} s")


def get_json(port: int, path: str, host: str = "127.0.0.1") -> Optional[dict]:
    import urllib.request

    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as r:
        return json.loads(r.read())
