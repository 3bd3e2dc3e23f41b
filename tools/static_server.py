"""A small static file server for the operators' dashboard (``dashboard/dist``).

HAProxy routes ``/`` to it (backend ``be_dashboard``). It serves the built files, falls
back to ``index.html`` for client-side routes (``/live``, ``/alerts``…), gives hashed
assets (``/assets/*-<hash>.js``) a year of immutable caching and ``index.html`` none, and
answers ``GET /health``. Standard library only; one thread per connection.

    python -m tools.static_server --root dashboard/dist --port 8090
"""

from __future__ import annotations

import argparse
import email.utils
import json
import logging
import mimetypes
import os
import posixpath
import re
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger("gtv.static")
_QUERY = re.compile(r"\?[^\s\"']*")

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# Paths that belong to the backends: never answered with the SPA's index.html.
RESERVED_PREFIXES = ("/api/", "/ws/", "/admin/", "/static/")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob: data: http: https:; "
        "connect-src 'self' ws: wss: http: https:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'"
    ),
}
for ext, kind in ((".js", "text/javascript"), (".mjs", "text/javascript"),
                  (".css", "text/css"), (".svg", "image/svg+xml"), (".json", "application/json"),
                  (".map", "application/json"), (".webmanifest", "application/manifest+json"),
                  (".woff2", "font/woff2")):
    mimetypes.add_type(kind, ext)


def resolve(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` that ``url_path`` names, or None (never escapes ``root``)."""
    path = posixpath.normpath(unquote(url_path))
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    if any("\x00" in p or p.startswith(".") for p in parts):
        return None
    candidate = root.joinpath(*parts) if parts else root
    try:
        candidate = candidate.resolve()
        candidate.relative_to(root)
    except (OSError, ValueError):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def cache_control(root: Path, file: Path) -> str:
    rel = file.relative_to(root).as_posix()
    if rel.startswith("assets/"):
        return IMMUTABLE  # Vite names them by content hash
    return NO_CACHE


class DashboardHandler(BaseHTTPRequestHandler):
    server_version = "gtv-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    root: Path = Path(".")

    def log_message(self, format: str, *args: object) -> None:
        # Query strings never reach the log: they may carry tokens or personal data.
        message = _QUERY.sub("", format % args)
        log.info(json.dumps({"client": self.client_address[0], "request": message}))

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _not_allowed(self) -> None:
        self._send_bytes(HTTPStatus.METHOD_NOT_ALLOWED, b'{"error":{"code":"method_not_allowed",'
                         b'"message":"method not allowed","details":{}}}', "application/json",
                         NO_CACHE, head=False, extra={"Allow": "GET, HEAD"})

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler answers a method without a ``do_<METHOD>`` with 501;
        # every method but GET and HEAD is a 405 here (TRACE, OPTIONS, POST...).
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path or "/"
        if path in ("/health", "/ready"):
            ok = (self.root / "index.html").is_file()
            body = json.dumps({"status": "ok" if ok else "no build"}).encode()
            self._send_bytes(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, body,
                             "application/json", NO_CACHE, head)
            return
        file = resolve(self.root, path)
        if file is None:
            last = path.rsplit("/", 1)[-1]
            if path.startswith(RESERVED_PREFIXES) or path.startswith("/assets/") or "." in last:
                self._send_bytes(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8",
                                 NO_CACHE, head)
                return
            file = self.root / "index.html"  # a client-side route
            if not file.is_file():
                self._send_bytes(HTTPStatus.SERVICE_UNAVAILABLE, b"dashboard not built\n",
                                 "text/plain; charset=utf-8", NO_CACHE, head)
                return
        self._send_file(file, head)

    def _send_file(self, file: Path, head: bool) -> None:
        stat = file.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
            kind += "; charset=utf-8"
        cache = cache_control(self.root, file)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", cache)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = file.read_bytes()
        self._send_bytes(HTTPStatus.OK, data, kind, cache, head, extra={
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
        })

    def _send_bytes(self, status: HTTPStatus, body: bytes, kind: str, cache: str, head: bool,
                    extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(root: Path, host: str, port: int) -> DashboardServer:
    handler = type("BoundDashboardHandler", (DashboardHandler,), {"root": root.resolve()})
    server = DashboardServer((host, port), handler)
    server.timeout = 30
    return server


def main(argv: list[str] | None = None) -> int:
    default_root = Path(__file__).resolve().parent.parent / "dashboard" / "dist"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get("GTV_DASHBOARD_ROOT", default_root)))
    parser.add_argument("--host", default=os.environ.get("GTV_DASHBOARD_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("GTV_DASHBOARD_PORT", "8090")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if not (args.root / "index.html").is_file():
        log.warning(json.dumps({"event": "no build", "root": str(args.root),
                                "hint": "cd dashboard && npm ci && npm run build"}))
    server = make_server(args.root, args.host, args.port)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(json.dumps({"event": "listening", "host": args.host, "port": server.server_address[1],
                         "root": str(args.root), "at": time.time()}))
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
