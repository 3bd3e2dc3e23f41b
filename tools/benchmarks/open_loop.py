"""An open-loop HTTP load at a constant request rate, for latency "at a given load".

``wrk -cN`` is a closed loop: each connection sends its next request when the previous
answer arrives, so the server is driven to saturation and the latency it reports is
mostly queueing (by Little's law, mean latency = connections / throughput). A latency
target holds at a rate, so this generator schedules requests at fixed intervals
(``rate`` per second) over a pool of keep-alive connections and measures each latency
from the moment its request was *due*, not from when a connection became free: a request
that waited for a connection counts its wait (the coordinated-omission correction of
wrk2, which Debian does not package).

HTTP/1.1 GETs over keep-alive connections; the first failed request ends the run. Not a
test; used by ``api_bench.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from tools.benchmarks.common import percentile

#: A request not answered by then fails the run (a stalled server must not hang a bench).
REQUEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class PacedResult:
    offered: float  # requests per second asked for
    rate: float  # requests answered per second
    answered: int
    p50_ms: float
    p99_ms: float
    non_2xx: int
    late: int  # requests that found every connection busy when due

    @property
    def over_capacity(self) -> bool:
        """The server answered clearly less than it was offered: its queue grew for the
        whole run, so the latencies say how long the run was, not what a request costs."""
        return self.rate < 0.95 * self.offered


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        if status < 200 or status in (204, 304):
            return status  # no body (and no 1xx: no Expect is ever sent)
        fields = {name.strip().lower(): value.strip()
                  for name, _, value in (line.partition(":") for line in lines[1:])}
        if fields.get("transfer-encoding", "").lower() == "chunked":  # wins over a length
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
        elif "content-length" in fields:
            await self.reader.readexactly(int(fields["content-length"]))
        else:
            raise RuntimeError(f"an answer of unknown length: {lines[0]!r}")
        if fields.get("connection", "").lower() == "close":
            raise RuntimeError(f"the server closed a keep-alive connection: {lines[0]!r}")
        return status


async def _paced(url: str, token: str | None, rate: float, connections: int,
                 duration: float) -> PacedResult:
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"plain http only: {url}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Accept: application/json"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode()

    free: asyncio.Queue[_Connection] = asyncio.Queue()
    opened: list[_Connection] = []
    latencies: list[float] = []
    statuses: list[int] = []
    failures: list[BaseException] = []
    pending: set[asyncio.Task[None]] = set()
    late = 0

    async def one(connection: _Connection, due: float) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                statuses.append(await connection.get(request))
            latencies.append(time.perf_counter() - due)
        except Exception as error:  # reported once, ends the run
            failures.append(error)
        finally:
            # Back in the queue even when broken: the loop stops before reusing it.
            free.put_nowait(connection)

    loop = asyncio.get_running_loop()
    interval = 1.0 / rate
    total = int(duration * rate)
    try:
        for _ in range(connections):
            connection = _Connection(*await asyncio.open_connection(host, port))
            opened.append(connection)
            free.put_nowait(connection)
        start = time.perf_counter() + 0.05
        for n in range(total):
            due = start + n * interval
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if free.empty():
                late += 1
            connection = await free.get()
            if failures:
                break
            task = loop.create_task(one(connection, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
        if failures:
            raise RuntimeError(f"a request to {url} failed") from failures[0]
        elapsed = time.perf_counter() - start
    finally:
        for connection in opened:
            connection.writer.close()
            with contextlib.suppress(Exception):
                await connection.writer.wait_closed()
    return PacedResult(
        offered=rate,
        rate=len(latencies) / elapsed,
        answered=len(latencies),
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        non_2xx=sum(1 for status in statuses if not 200 <= status < 300),
        late=late,
    )


def paced_load(url: str, *, rate: float, token: str | None = None, connections: int = 32,
               duration: float = 10.0) -> PacedResult:
    """``rate`` GETs per second of ``url`` for ``duration`` seconds over ``connections``
    keep-alive connections; latency from each request's due time. Raises RuntimeError on
    the first request that fails or takes over ``REQUEST_TIMEOUT_SECONDS``."""
    return asyncio.run(_paced(url, token, rate, connections, duration))
