"""A stand-in for MediaMTX's playback server, driven by ``mediamtx-playback-openapi.yaml``.

MediaMTX cannot run here, so the playback client is tested against the contract: every
request is validated with openapi-core against the published document (unknown query
parameters are refused too, as a typo would be lost on the real server), ``/list``
answers are validated against the spec's schemas, and ``/get`` answers a real MP4 cut by
a real ffmpeg from a real recording (an H.264 file made from ``testsrc``), with the
documented ``Accept-Ranges: none``.

A recording is "being written": ``/list`` reports it up to ``lag_seconds`` before the
wall clock only (MediaMTX lists what its segments hold so far), so a client asking right
after a span ends sees it incomplete and must ask again.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.starlette.requests import StarletteOpenAPIRequest
from openapi_core.contrib.starlette.responses import StarletteOpenAPIResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_REPO_ROOT = Path(__file__).resolve().parents[3]
PLAYBACK_SPEC_PATH = _REPO_ROOT / "tests" / "contracts" / "mediamtx-playback-openapi.yaml"
SHARED_PLAYBACK_SPEC_PATH = _REPO_ROOT.parent / "shared" / "mediamtx-playback-openapi.yaml"


def load_playback_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(PLAYBACK_SPEC_PATH.read_text())
    return spec


def make_recording(path: Path, seconds: int, *, size: str = "320x240", rate: int = 10) -> Path:
    """A real H.264 MP4 of ``seconds`` (a keyframe every second), like a camera's."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", str(rate), "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=120, capture_output=True)
    return path


@dataclass
class Recording:
    start: datetime
    file: Path
    seconds: float


@dataclass
class PlaybackState:
    recordings: dict[str, Recording] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    invalid_requests: list[str] = field(default_factory=list)
    invalid_responses: list[str] = field(default_factory=list)
    refused_auth: int = 0


class PlaybackStandIn:
    def __init__(self, *, user: str | None = None, password: str | None = None,
                 lag_seconds: float = 0.0) -> None:
        spec = copy.deepcopy(load_playback_spec())
        spec["servers"] = [{"url": "/"}]
        for schema in spec["components"]["schemas"].values():
            if schema.get("type") == "object" and "properties" in schema:
                schema.setdefault("additionalProperties", False)
        self.spec = spec
        self.openapi = OpenAPI.from_dict(spec)
        self.user, self.password = user, password
        self.lag_seconds = lag_seconds
        self.state = PlaybackState()
        self.app = Starlette(routes=[Route("/{rest:path}", self._handle, methods=["GET"])])

    def add_recording(self, path: str, start: datetime, file: Path, seconds: float) -> None:
        self.state.recordings[path] = Recording(start, file, seconds)

    def _known_parameters(self, route: str) -> set[str]:
        operation = self.spec["paths"].get(route, {}).get("get", {})
        return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}

    async def _handle(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.state.calls.append((request.url.path, query))
        if self.user is not None and not self._authorised(request):
            self.state.refused_auth += 1
            return JSONResponse({"status": "error", "error": "authentication error"},
                                status_code=401)
        oa_request = StarletteOpenAPIRequest(request, b"")
        result = self.openapi.unmarshal_request(oa_request)
        unknown = set(query) - self._known_parameters(request.url.path)
        if result.errors or unknown:
            detail = "; ".join(f"{e!r} caused by {e.__cause__!r}" for e in result.errors)
            if unknown:
                detail += f"; unknown parameters {sorted(unknown)}"
            self.state.invalid_requests.append(f"GET {request.url}: {detail}")
            return JSONResponse({"status": "error", "error": detail}, status_code=400)
        if request.url.path == "/list":
            response = self._list(query["path"])
        else:
            response = await self._get(query)
        if response.media_type == "application/json":
            oa_response = StarletteOpenAPIResponse(response, data=bytes(response.body))
            for error in self.openapi.iter_response_errors(oa_request, oa_response):
                self.state.invalid_responses.append(f"{request.url}: {error!r}")
        return response

    def _authorised(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(credentials).decode().partition(":")
        return (user, password) == (self.user, self.password)

    def _written(self, path: str) -> float:
        """Seconds of the recording on disk so far."""
        recording = self.state.recordings[path]
        elapsed = time.time() - self.lag_seconds - recording.start.timestamp()
        return max(0.0, min(recording.seconds, elapsed))

    def _list(self, path: str) -> Response:
        if path not in self.state.recordings or self._written(path) <= 0:
            return JSONResponse({"status": "error", "error": "no recordings found"},
                                status_code=404)
        recording = self.state.recordings[path]
        start = recording.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return JSONResponse([{"start": start, "duration": self._written(path),
                              "url": f"/get?path={path}&start={start}"}])

    async def _get(self, query: dict[str, str]) -> Response:
        path = query["path"]
        start = datetime.fromisoformat(query["start"])
        duration = float(query["duration"])
        recording = self.state.recordings.get(path)
        offset = (start - recording.start).total_seconds() if recording else -1.0
        if recording is None or offset < 0 or offset >= self._written(path):
            return JSONResponse({"status": "error", "error": "no recordings found"},
                                status_code=404)
        length = min(duration, self._written(path) - offset)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "span.mp4"
            process = await asyncio.create_subprocess_exec(
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{offset:.3f}",
                "-i", str(recording.file), "-t", f"{length:.3f}", "-c", "copy",
                "-movflags", "+faststart" if query.get("format") == "mp4"
                else "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(out))
            await asyncio.wait_for(process.wait(), 60)
            data = out.read_bytes()
        return Response(data, media_type="video/mp4", headers={"Accept-Ranges": "none"})
