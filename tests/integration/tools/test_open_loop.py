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

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.1)
        if self.path.startswith("/missing"):
            self.send_response(404)
        else:
            self.send_response(200)
        if self.path.endswith("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (BODY[:5], BODY[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
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
def test_holds_the_rate_and_reads_whole_answers(server: str, path: str) -> None:
    result = paced_load(server + path, rate=40, connections=2, duration=1.0)

    # Every answer was read to its end (a short read would desynchronise the keep-alive
    # connection and fail the next request), at about the rate asked for.
    assert 30 <= result.rate <= 45
    assert result.non_2xx == 0


def test_counts_latency_from_the_due_time(server: str) -> None:
    # One connection, 100 ms per answer, 20 requests due within a second: the requests
    # queue behind each other. A closed loop would report about 100 ms for each; counted
    # from when each was due, the last waited about a second.
    result = paced_load(server + "/slow", rate=20, connections=1, duration=1.0)

    assert result.late > 10
    assert result.p50_ms > 300
    assert result.p99_ms > 700


def test_counts_answers_that_are_not_2xx(server: str) -> None:
    result = paced_load(server + "/missing", rate=20, connections=1, duration=0.5)

    assert result.non_2xx == 10
