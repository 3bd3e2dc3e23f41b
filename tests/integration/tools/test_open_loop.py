"""The benchmarks' open-loop load generator against a real HTTP server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools.benchmarks.open_loop import paced_load

BODY = b'{"results": []}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the services behind HAProxy
    # One write per answer, sent at once (as gunicorn, uvicorn and HAProxy do): no
    # delayed-ACK stall between a header write and a body write.
    disable_nagle_algorithm = True
    wbufsize = -1

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.1)
        self.send_response(404 if self.path.startswith("/missing") else 200)
        if self.path.startswith("/closing"):
            self.send_header("Content-Length", str(len(BODY)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        elif self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            # A chunk extension, and a trailer after the last chunk.
            self.wfile.write(b"%x;part=1\r\n%s\r\n" % (5, BODY[:5]))
            self.wfile.write(b"%x\r\n%s\r\n" % (len(BODY) - 5, BODY[5:]))
            self.wfile.write(b"0\r\nX-Checksum: none\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("path", ["/fixed", "/chunked"])
def test_sends_every_request_and_reads_whole_answers(server: str, path: str) -> None:
    result = paced_load(server + path, rate=40, connections=2, duration=1.0)

    # Every answer was read to its end: a short read would leave bytes on the keep-alive
    # connection and fail the next request on it.
    assert result.answered == 40
    assert result.non_2xx == 0
    assert result.offered == 40


def test_counts_latency_from_the_due_time(server: str) -> None:
    # One connection, 100 ms per answer, 20 requests due within a second: the requests
    # queue behind each other. A closed loop would report about 100 ms for each; counted
    # from when each was due, the last waited about a second.
    result = paced_load(server + "/slow", rate=20, connections=1, duration=1.0)

    assert result.late > 10
    assert result.p50_ms > 300
    assert result.p99_ms > 700
    assert result.over_capacity


def test_counts_answers_that_are_not_2xx(server: str) -> None:
    result = paced_load(server + "/missing", rate=20, connections=1, duration=0.5)

    assert result.answered == 10
    assert result.non_2xx == 10


def test_a_closed_keep_alive_connection_ends_the_run(server: str) -> None:
    started = time.monotonic()

    with pytest.raises(RuntimeError, match="failed"):
        paced_load(server + "/closing", rate=20, connections=1, duration=1.0)

    assert time.monotonic() - started < 5
