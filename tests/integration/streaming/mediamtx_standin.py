"""A stand-in for MediaMTX's control API, driven by ``mediamtx-openapi.yaml``.

MediaMTX cannot run on the development machines (SPEC §9), so the client is tested
against its contract instead: every request is validated with openapi-core against the
published document (path, method, parameters, body), and every answer is built from the
spec's schemas and validated against them before it leaves. The state is in memory:
added paths show up in get/list, patches merge, deletes remove.

Request bodies are checked a little more strictly than the document says: unknown
properties are rejected, as MediaMTX itself does (its JSON decoder disallows unknown
fields), so a typo in a field name fails the test instead of being ignored.
"""

from __future__ import annotations

import copy
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import uvicorn
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.starlette.requests import StarletteOpenAPIRequest
from openapi_core.contrib.starlette.responses import StarletteOpenAPIResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_REPO_ROOT = Path(__file__).resolve().parents[3]
# The contract ships with the repository (tests/contracts/); ``../shared`` holds the
# project's reference copy on development machines, and the two must stay identical.
VENDORED_SPEC_PATH = _REPO_ROOT / "tests" / "contracts" / "mediamtx-openapi.yaml"
SHARED_SPEC_PATH = _REPO_ROOT.parent / "shared" / "mediamtx-openapi.yaml"
SPEC_PATH = Path(os.environ.get("GTV_MEDIAMTX_OPENAPI", VENDORED_SPEC_PATH))

_SOURCE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "srt://")


def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open() as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def strict_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with ``additionalProperties: false`` on every plain object schema and a
    relative server, so any host:port of the stand-in matches."""
    strict = copy.deepcopy(spec)
    strict["servers"] = [{"url": "/"}]
    for schema in strict["components"]["schemas"].values():
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    return strict


class SchemaSampler:
    """Builds a value for a schema: the shape MediaMTX answers with, zero-valued."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._schemas: dict[str, Any] = spec["components"]["schemas"]

    def sample(self, name: str) -> dict[str, Any]:
        value = self._value({"$ref": f"#/components/schemas/{name}"}, 0)
        assert isinstance(value, dict)
        return value

    def _value(self, schema: dict[str, Any], depth: int) -> Any:
        if "$ref" in schema:
            return self._value(self._schemas[schema["$ref"].rsplit("/", 1)[1]], depth)
        # Deprecated fields are nullable and MediaMTX sends them as null; with ``allOf`` the
        # referenced schema still applies to null (OpenAPI 3.0), so give those a value.
        if schema.get("nullable") and "allOf" not in schema:
            return None
        if "enum" in schema:
            return schema["enum"][0]
        if "allOf" in schema:
            parts = [self._value(part, depth + 1) for part in schema["allOf"]]
            if not all(isinstance(p, dict) for p in parts):
                return parts[0]  # e.g. a nullable enum: the referenced value
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(part)
            return merged
        if "oneOf" in schema:
            return self._value(schema["oneOf"][0], depth + 1)
        kind = schema.get("type")
        if kind == "object":
            return {k: self._value(v, depth + 1) for k, v in schema.get("properties", {}).items()}
        zero: dict[str, Any] = {"array": [], "integer": 0, "number": 0.0, "boolean": False}
        return zero.get(kind or "string", "")


@dataclass
class StandInState:
    confs: dict[str, dict[str, Any]] = field(default_factory=dict)
    online: dict[str, int] = field(default_factory=dict)  # path -> inbound bytes
    readers: dict[str, int] = field(default_factory=dict)
    recordings: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    invalid_requests: list[str] = field(default_factory=list)
    invalid_responses: list[str] = field(default_factory=list)


class MediaMtxStandIn:
    """ASGI app answering the control API from the spec, with in-memory state."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        spec = spec or load_spec()
        self.openapi = OpenAPI.from_dict(strict_spec(spec))
        self.sampler = SchemaSampler(spec)
        self.state = StandInState()
        self.app = Starlette(
            routes=[
                Route(
                    "/{rest:path}",
                    self._handle,
                    methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                )
            ]
        )

    # -- test controls ----------------------------------------------------------------

    def reset(self) -> None:
        self.state = StandInState()

    def set_online(self, name: str, inbound_bytes: int, readers: int = 1) -> None:
        self.state.online[name] = inbound_bytes
        self.state.readers[name] = readers

    def add_recording(self, name: str, start: str) -> None:
        self.state.recordings.setdefault(name, []).append(start)

    # -- ASGI -------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        oa_request = StarletteOpenAPIRequest(request, body)
        self.state.calls.append((request.method, request.url.path))
        result = self.openapi.unmarshal_request(oa_request)
        if result.errors:
            detail = "; ".join(f"{e!r} caused by {e.__cause__!r}" for e in result.errors)
            self.state.invalid_requests.append(f"{request.method} {request.url}: {detail}")
            response: Response = _error(400, f"request does not match the spec: {detail}")
        else:
            status, payload = self._route(request.method, request.url.path, result.body, request)
            response = JSONResponse(payload, status_code=status)
        oa_response = StarletteOpenAPIResponse(response, data=bytes(response.body))
        for error in self.openapi.iter_response_errors(oa_request, oa_response):
            self.state.invalid_responses.append(
                f"{request.method} {request.url}: {error!r} caused by {error.__cause__!r}"
            )
        return response

    def _route(
        self, method: str, path: str, body: Any, request: Request
    ) -> tuple[int, dict[str, Any]]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        head, name = "/".join(parts[:4]), "/".join(parts[4:])
        confs = self.state.confs
        ok: tuple[int, dict[str, Any]] = (200, {"status": "ok"})
        if method == "POST" and head == "v3/config/paths/add":
            if name in confs:
                return 400, _error_body("path already exists")
            problem = _check_conf(body)
            if problem:
                return 400, _error_body(problem)
            confs[name] = dict(body)
            return ok
        if head in ("v3/config/paths/patch", "v3/config/paths/replace"):
            if name not in confs:
                return 404, _error_body("path not found")
            problem = _check_conf(body)
            if problem:
                return 400, _error_body(problem)
            confs[name] = {**confs[name], **body} if method == "PATCH" else dict(body)
            return ok
        if method == "DELETE" and head == "v3/config/paths/delete":
            if confs.pop(name, None) is None:
                return 404, _error_body("path not found")
            return ok
        if method == "GET" and head == "v3/config/paths/get":
            if name not in confs:
                return 404, _error_body("path not found")
            return 200, self._conf(name)
        if method == "GET" and path == "/v3/config/paths/list":
            return 200, _page([self._conf(n) for n in sorted(confs)], request)
        if method == "GET" and path == "/v3/config/global/get":
            return 200, self.sampler.sample("GlobalConf")
        if method == "GET" and "/".join(parts[:3]) == "v3/paths/get":
            name = "/".join(parts[3:])
            if name not in confs:
                return 404, _error_body("path not found")
            return 200, self._path(name)
        if method == "GET" and path == "/v3/paths/list":
            return 200, _page([self._path(n) for n in sorted(confs)], request)
        if method == "GET" and path == "/v3/recordings/list":
            recs = [self._recording(n) for n in sorted(self.state.recordings)]
            return 200, _page(recs, request)
        if method == "GET" and "/".join(parts[:3]) == "v3/recordings/get":
            name = "/".join(parts[3:])
            if name not in self.state.recordings:
                return 404, _error_body("recording not found")
            return 200, self._recording(name)
        if method == "DELETE" and path == "/v3/recordings/deletesegment":
            segments = self.state.recordings.get(request.query_params["path"], [])
            start = _parse_time(request.query_params["start"])
            match = [s for s in segments if _parse_time(s) == start]
            if start is None or not match:
                return 404, _error_body("segment not found")
            segments.remove(match[0])
            return ok
        return 404, _error_body("not implemented by the stand-in")

    # -- response bodies --------------------------------------------------------------

    def _conf(self, name: str) -> dict[str, Any]:
        conf = self.sampler.sample("PathConf")
        conf.update(self.state.confs[name])
        conf["name"] = name
        return conf

    def _path(self, name: str) -> dict[str, Any]:
        path = self.sampler.sample("Path")
        online = name in self.state.online
        since = "2026-01-02T03:04:05.123456Z" if online else None
        path.update(
            {
                "name": name,
                "confName": name,
                # A path with a static source always describes it, online or not (a null
                # here would also trip the spec's nullable+allOf quirk).
                "source": {"type": "rtspSource", "id": ""},
                "ready": online,
                "readyTime": since,
                "online": online,
                "onlineTime": since,
                "available": online,
                "availableTime": since,
                "tracks": ["H264"] if online else [],
                # codecProps left out: the spec's oneOf cannot tell H264 from H265 props.
                "tracks2": [{"codec": "H264"}] if online else [],
                "bytesReceived": self.state.online.get(name, 0),
                "inboundBytes": self.state.online.get(name, 0),
                "readers": [
                    {"type": "hlsSession", "id": f"reader-{i}"}
                    for i in range(self.state.readers.get(name, 0))
                ],
            }
        )
        return path

    def _recording(self, name: str) -> dict[str, Any]:
        return {"name": name, "segments": [{"start": s} for s in self.state.recordings[name]]}


def _check_conf(body: dict[str, Any]) -> str | None:
    source = body.get("source")
    if (
        isinstance(source, str)
        and source not in ("", "publisher", "redirect")
        and not source.startswith(_SOURCE_SCHEMES)
    ):
        # Echo the value like MediaMTX's validation errors do: the client must mask it.
        return f"invalid source: '{source}'"
    return None


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    page = int(request.query_params.get("page", 0))
    per_page = int(request.query_params.get("itemsPerPage", 100))
    page_count = (len(items) + per_page - 1) // per_page
    chunk = items[page * per_page : (page + 1) * per_page]
    return {"itemCount": len(items), "pageCount": page_count, "items": chunk}


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error_body(message: str) -> dict[str, Any]:
    return {"status": "error", "error": message}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(_error_body(message), status_code=status)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("stand-in server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
