"""Both OpenAPI documents, fuzzed through HAProxy against the whole running system.

The isolated demo (``tools.demo.isolated``: both services under gunicorn and uvicorn, their
workers, the camera simulator and HAProxy, on free ports with a database of its own)
serves one module. Its seed gives the fuzzer real data to reach: a tenant, a user per
role, a camera streaming from the simulator, a watchlist with an entry, then whatever the
LPR worker detects; ids of those are mixed into generated path and query parameters
(``hooks.py``). It lives in tests/e2e, not tests/integration: what it must catch sits
in the servers and the gateway as much as in the apps (uvicorn's and gunicorn's handling
of bodies and methods, HAProxy's routing of ``/health`` to the dashboard's server).

``test_schemathesis_finds_no_5xx_and_only_shaped_errors`` runs the schemathesis CLI
(pinned in pyproject.toml) four times — the streaming service's
``/api/streaming/openapi.json`` and the admin service's ``/api/admin/schema/``, each as a
viewer and as a tenant admin — all phases (examples, coverage, fuzzing, stateful), a
fixed seed, within a fixed time budget (``GTV_FUZZ_SECONDS``, 180 s in all by default;
``GTV_FUZZ_SEED`` picks another seed). Checks: ``not_a_server_error``, the project's
``error_shape``, and ``unsupported_method``, ``allow_header_conformance``, ``ignored_auth``
(``GTV_FUZZ_CHECKS`` to choose others). A failure lists each failing operation with a
curl reproduction (the token is filtered out of the output: log in to the demo for one).

``test_framework_errors_have_the_error_shape`` sends what frameworks answer themselves
(401 no token, 403 role, 404 unknown path, 405 method, 413 body, 415 media type, 429
throttle) through HAProxy to both services and checks the shape of each.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import yaml

from shared_kernel.settings import DEV_ENV_FILE
from tools.demo.isolated import DemoRun, run_isolated_demo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = {"streaming": "/api/streaming/openapi.json", "admin": "/api/admin/schema/"}
FUZZ_SECONDS = float(os.environ.get("GTV_FUZZ_SECONDS", "180"))
FUZZ_SEED = int(os.environ.get("GTV_FUZZ_SEED", "20261204"))
# Beyond no 5xx and the error shape: undocumented methods answer 405 with an Allow header
# that lists the documented ones, and a protected operation refuses a missing or bad token.
FUZZ_CHECKS = os.environ.get(
    "GTV_FUZZ_CHECKS",
    "not_a_server_error,error_shape,unsupported_method,allow_header_conformance,ignored_auth",
)
# Viewers first: the tenant admin's runs create, change and delete things (cameras,
# users) the viewer's runs would otherwise miss. Shares of the time budget.
RUNS = (("streaming", "viewer", 0.2), ("admin", "viewer", 0.2),
        ("streaming", "tenant-admin", 0.3), ("admin", "tenant-admin", 0.3))
# Internal probes: documented by the services, refused by HAProxy (404) so that nothing
# outside learns their dependencies' state.
GATEWAY_PRIVATE_PATHS = r"^/(ready|metrics)$"


@pytest.fixture(scope="module")
def demo(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    extra_env = {
        # The fuzzer sends far more than the 1000 requests a minute allowed per address.
        "GTV_HAPROXY_RATE_LIMIT": "1000000",
        # Plate reading every two seconds is enough to produce detections and alerts.
        "GTV_LPR_SAMPLE_FPS": "0.5",
    }
    with run_isolated_demo(amqp_url, tmp_path_factory.mktemp("fuzz-demo"), label="fuzz",
                           extra_env=extra_env) as run:
        yield run


@dataclass
class Session:
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def claims(self) -> dict[str, Any]:
        claims = jwt.decode(self.token, options={"verify_signature": False})
        return {k: v for k, v in claims.items() if k not in ("jti", "iat", "exp", "nbf")}


@pytest.fixture(scope="module")
def gateway(demo: DemoRun) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.gateway, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def sessions(demo: DemoRun, gateway: httpx.Client) -> dict[str, Session]:
    out = {}
    for role in ("viewer", "operator", "tenant-admin"):
        username = f"demo-{role}"
        response = gateway.post("/api/admin/auth/token",
                                json={"username": username, "password": demo.summary["password"]})
        assert response.status_code == 200, response.text
        out[role] = Session(username, response.json()["access"])
    return out


def _ids(response: httpx.Response, key: str = "id") -> list[str]:
    if response.status_code != 200:
        return []
    body = response.json()
    items = body if isinstance(body, list) else body.get("results", [])
    return [str(item[key]) for item in items][:5]


@pytest.fixture(scope="module")
def known(demo: DemoRun, gateway: httpx.Client, sessions: dict[str, Session]
          ) -> dict[str, list[str]]:
    """Real ids of the demo's data by parameter name, gathered (and some made) through
    the API as an operator and a tenant admin would."""
    admin, operator = sessions["tenant-admin"].headers, sessions["operator"].headers
    get = gateway.get
    cameras = _ids(get("/api/cidades/cameras/", headers=admin))
    assert cameras, "the demo seeds cameras"
    users = [u["id"] for u in get("/api/admin/users/", headers=admin).json()["results"]
             if u["username"] != sessions["tenant-admin"].username]  # never fuzz ourselves
    known: dict[str, list[str]] = {
        "id:cameras": cameras, "camera_id": cameras,
        "id:locations": _ids(get("/api/cidades/locations/", headers=admin)),
        "id:zones": _ids(get("/api/cidades/zones/", headers=admin)),
        "id:users": users,
        "id:audit-logs": _ids(get("/api/admin/audit-logs/", headers=admin)),
        "id:prefeituras": [sessions["tenant-admin"].claims["tenant_id"]],
    }
    watchlists = _ids(get("/api/ai/watchlists/", headers=admin))
    known["watchlist_id"] = watchlists
    known["entry_id"] = [e for w in watchlists for e in _ids(
        get(f"/api/ai/watchlists/{w}/entries/", headers=admin))]
    known["detection_id"] = _ids(get("/api/ai/detections/", headers=admin))
    known["alert_id"] = _ids(get("/api/ai/alerts/", headers=admin))
    now = time.time()
    window = {"camera_id": cameras[0], "start": _iso(now - 3600), "end": _iso(now + 60)}
    known["recording_id"] = _ids(get("/api/streaming/recordings/", params=window,
                                     headers=admin))
    export = gateway.post("/api/streaming/exports", headers=operator,
                          json={"camera_id": cameras[0], "start": _iso(now - 120),
                                "end": _iso(now - 60)})
    known["export_id"] = [export.json()["id"]] if export.status_code == 202 else []
    snapshot = gateway.post(f"/api/streaming/cameras/{cameras[0]}/snapshot", headers=operator)
    if snapshot.status_code == 201:
        url = urlsplit(snapshot.json()["url"])
        bucket, key = url.path.split("/api/streaming/media/", 1)[1].split("/", 1)
        query = parse_qs(url.query)
        known.update(bucket=[bucket], key=[key], expires=query["expires"], sig=query["sig"])
    live = next(iter(demo.summary["live"].values()), None)
    if live:
        known["token"] = parse_qs(urlsplit(live).query)["token"]
        known["file_name"] = ["index.m3u8"]
    return {name: values for name, values in known.items() if values}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _private_key_file() -> str:
    for line in DEV_ENV_FILE.read_text().splitlines():
        if line.startswith("GTV_JWT_PRIVATE_KEY_FILE="):
            return line.split("=", 1)[1].strip().strip('"')
    raise RuntimeError(f"GTV_JWT_PRIVATE_KEY_FILE is not in {DEV_ENV_FILE}")


# --- errors the frameworks produce ---------------------------------------------------------


def _assert_shape(response: httpx.Response, what: str) -> None:
    assert response.status_code >= 400, what
    assert response.headers.get("content-type", "").startswith("application/json"), \
        (what, response.status_code, response.headers.get("content-type"), response.text[:200])
    body = response.json()
    assert set(body) == {"error"}, (what, body)
    assert set(body["error"]) == {"code", "message", "details"}, (what, body)
    assert isinstance(body["error"]["details"], dict), (what, body)


@pytest.mark.timeout(600)  # includes starting the demo (up to 4 minutes)
def test_framework_errors_have_the_error_shape(
    demo: DemoRun, gateway: httpx.Client, sessions: dict[str, Session]
) -> None:
    viewer, admin = sessions["viewer"].headers, sessions["tenant-admin"].headers
    probes: list[tuple[str, httpx.Response, int]] = []

    def probe(what: str, expected: int, method: str, path: str, **kwargs: Any) -> None:
        probes.append((what, gateway.request(method, path, **kwargs), expected))

    for service, path in SCHEMAS.items():
        schema = yaml.safe_load(gateway.get(path).text)  # the admin's is YAML
        for template, operations in schema["paths"].items():
            if re.fullmatch(GATEWAY_PRIVATE_PATHS, template):
                probe(f"{service} {template} through the gateway", 404, "GET", template)
                continue
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", template)
            probe(f"{service} TRACE {template}", 405, "TRACE", concrete, headers=admin)
            protected = [op for op in operations.values() if isinstance(op, dict)
                         and op.get("security") and {} not in op["security"]]
            if protected and "get" in operations:
                probe(f"{service} GET {template} without a token", 401, "GET", concrete)
    probe("unknown admin path", 404, "GET", "/api/admin/no-such-thing/", headers=admin)
    probe("unknown streaming path", 404, "GET", "/api/ai/no-such-thing/", headers=admin)
    probe("viewer writes a camera", 403, "POST", "/api/cidades/cameras/", headers=viewer,
          json={"name": "x", "rtsp_url": "rtsp://10.0.0.1/x"})
    probe("viewer writes a watchlist", 403, "POST", "/api/ai/watchlists/", headers=viewer,
          json={"name": "x"})
    for service, path in (("admin", "/api/cidades/locations/"),
                          ("streaming", "/api/ai/watchlists/")):
        probes.append((f"{service} body over the limit",
                       _declared_only(demo.gateway, path, admin, 400_000), 413))
    probe("admin form body", 415, "POST", "/api/cidades/locations/", headers=admin,
          data={"name": "x"})
    probe("streaming text body", 400, "POST", "/api/ai/watchlists/",
          headers={**admin, "Content-Type": "text/plain"}, content=b"name=x")
    for attempt in range(12):
        probe(f"failed login {attempt}", 401, "POST", "/api/admin/auth/token",
              json={"username": "fuzz-throttle", "password": "wrong-password"})
    throttled = [r for what, r, _ in probes if what.startswith("failed login")
                 and r.status_code == 429]
    assert throttled, "the login throttle answers 429 after 10 failures a minute"
    for what, response, expected in probes:
        if not what.startswith("failed login"):
            assert response.status_code == expected, (what, response.status_code,
                                                      response.text[:300])
        _assert_shape(response, what)
        if response.status_code == 405:
            assert response.headers.get("allow"), what


def _declared_only(base_url: str, path: str, headers: dict[str, str],
                   length: int) -> httpx.Response:
    """POST that announces a ``length``-byte body and sends none: both services refuse
    it on the declared size alone. (Sending the body itself races the early answer: the
    connection may be reset before the client reads it.) The answer is read as soon as
    it is complete; the gateway would only close after its request timeout."""
    url = urlsplit(base_url)
    head = "".join(f"{k}: {v}\r\n" for k, v in {
        **headers, "Host": url.netloc, "Content-Type": "application/json",
        "Content-Length": str(length)}.items())
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        raw = b""
        while (parsed := _complete_response(raw)) is None:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed mid-answer: {raw[:300]!r}")
            raw += chunk
    return parsed


def _complete_response(raw: bytes) -> httpx.Response | None:
    """The response in ``raw`` once it is whole (Content-Length or chunked), else None."""
    head, found, rest = raw.partition(b"\r\n\r\n")
    if not found:
        return None
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines if ": " in line]
    fields = {k.lower(): v for k, v in headers}
    if "chunked" in fields.get("transfer-encoding", ""):
        body = b""
        while True:
            size_line, found, after = rest.partition(b"\r\n")
            if not found:
                return None
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            if len(after) < size + 2:
                return None
            body, rest = body + after[:size], after[size + 2:]
    else:
        body = rest[:int(fields.get("content-length", "0"))]
        if len(body) < int(fields.get("content-length", "0")):
            return None
    return httpx.Response(int(status_line.split()[1]), content=body, headers=[
        (k, v) for k, v in headers if k.lower() not in ("transfer-encoding", "content-length")])


# --- schemathesis --------------------------------------------------------------------------


@dataclass
class FuzzRun:
    name: str
    exit_code: int
    requests: int
    seconds: float
    output: str

    def failures(self) -> str:
        """The CLI's FAILURES section: each failing operation with a curl reproduction."""
        match = re.search(r"(=+ (?:FAILURES|ERRORS) =+\n.*?)(?=\n=+ (?:WARNINGS|SUMMARY) =+)",
                          self.output, re.S)
        return match.group(1).strip() if match else self.output[-6000:]


def _schemathesis(demo: DemoRun, service: str, role: str, session: Session,
                  known: dict[str, list[str]], seconds: float, work: Path) -> FuzzRun:
    name = f"{service}-as-{role}"
    config = work / f"{name}.json"
    counts = work / f"{name}-counts.json"
    config.write_text(json.dumps({
        "claims": session.claims, "private_key_file": _private_key_file(),
        "known": known, "counts_file": str(counts),
    }))
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", demo.gateway + SCHEMAS[service],
        "--url", demo.gateway,
        "--checks", FUZZ_CHECKS,
        # The probes the gateway keeps private (404 at the edge by design, docs/security.md).
        "--exclude-path-regex", GATEWAY_PRIVATE_PATHS,
        "--seed", str(FUZZ_SEED),
        "--max-time", str(int(seconds)),
        # One worker: with several threads, CPython 3.11 can fail compiling an AST
        # ("AST constructor recursion depth mismatch") inside Hypothesis and anyio.
        "--workers", "1",
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        "--generation-database", "none",
        "--no-color",
        "--report", "junit", "--report-junit-path", str(work / f"{name}.xml"),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz.hooks",
           "GTV_FUZZ_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                          timeout=seconds + 240, check=False)
    elapsed = time.monotonic() - started
    requests = json.loads(counts.read_text())["requests"] if counts.exists() else 0
    (work / f"{name}.log").write_text(done.stdout + done.stderr)
    return FuzzRun(name, done.returncode, requests, elapsed, done.stdout + done.stderr)


@pytest.mark.timeout(int(FUZZ_SECONDS) + 600)
def test_schemathesis_finds_no_5xx_and_only_shaped_errors(
    demo: DemoRun, sessions: dict[str, Session], known: dict[str, list[str]],
    tmp_path: Path, record_property: Any,
) -> None:
    runs = [_schemathesis(demo, service, role, sessions[role], known, FUZZ_SECONDS * share,
                          tmp_path)
            for service, role, share in RUNS]
    total = sum(r.requests for r in runs)
    summary = ", ".join(f"{r.name}: {r.requests} requests in {r.seconds:.0f} s" for r in runs)
    record_property("fuzz_requests", total)
    print(f"\nschemathesis (seed {FUZZ_SEED}): {total} requests; {summary}")
    for run in runs:
        assert run.requests > 0, f"{run.name} sent nothing:\n{run.output[-3000:]}"
    failed = [r for r in runs if r.exit_code != 0]
    assert not failed, "\n\n".join(
        f"##### {r.name} (exit {r.exit_code}, seed {FUZZ_SEED}; log in {tmp_path})\n"
        f"{r.failures()}" for r in failed)
