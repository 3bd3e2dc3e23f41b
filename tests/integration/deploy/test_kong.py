"""deploy/kong/kong.yml: routes, plugins and the key render step (Kong itself can't run here).

Route matching follows Kong's rules closely enough for our config: regex paths
(``~`` prefix) first, then the longest plain prefix.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.deploy.deploy_support import DEPLOY

KONG_YML = DEPLOY / "kong" / "kong.yml"
RENDER = DEPLOY / "kong" / "render-config.sh"

# Paths the services serve for infrastructure only: probed directly by HAProxy and
# Prometheus on the internal network, never published through the gateway.
INTERNAL_PATHS = {"/ready", "/metrics"}
# Routes that must answer without a token.
PUBLIC_PATHS = [
    "/api/admin/auth/token",
    "/api/admin/auth/refresh",
    "/api/admin/auth/invitations/accept",
    "/api/admin/auth/jwks.json",
    "/api/admin/schema/",
    "/api/streaming/openapi.json",
    "/health",
]


@pytest.fixture(scope="module")
def kong() -> dict[str, Any]:
    return dict(yaml.safe_load(KONG_YML.read_text()))


def routes(kong: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(service, route) for service in kong["services"] for route in service["routes"]]


def match(kong: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (service, route) Kong would pick for ``path``."""
    best: tuple[int, dict[str, Any], dict[str, Any]] | None = None
    for service, route in routes(kong):
        for candidate in route.get("paths", []):
            if candidate.startswith("~"):
                if re.match(candidate[1:], path):
                    return service, route
            elif path.startswith(candidate) and (best is None or len(candidate) > best[0]):
                best = (len(candidate), service, route)
    return (best[1], best[2]) if best else None


def plugin(route: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in route.get("plugins", []) if p["name"] == name), None)


def global_plugin(kong: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in kong.get("plugins", []) if p["name"] == name), None)


def test_format_is_declarative_kong_3(kong: dict[str, Any]) -> None:
    assert kong["_format_version"] == "3.0"
    assert {s["name"] for s in kong["services"]} >= {"admin", "streaming"}


def test_services_point_at_the_two_backends(kong: dict[str, Any]) -> None:
    urls = {s["name"]: s["url"] for s in kong["services"]}
    assert urls["admin"] == "http://admin:8000"
    assert urls["streaming"] == "http://streaming:8001"
    assert urls["streaming-ws"] == "http://streaming:8001"


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/api/admin/auth/token", "http://admin:8000"),
        ("/api/admin/auth/refresh", "http://admin:8000"),
        ("/api/admin/auth/logout", "http://admin:8000"),
        ("/api/admin/me", "http://admin:8000"),
        ("/api/admin/users/", "http://admin:8000"),
        ("/api/admin/audit-logs/", "http://admin:8000"),
        ("/api/admin/schema/", "http://admin:8000"),
        ("/api/cidades/prefeituras/", "http://admin:8000"),
        ("/api/cidades/cameras/", "http://admin:8000"),
        ("/api/cidades/locations/", "http://admin:8000"),
        ("/api/cidades/zones/", "http://admin:8000"),
        ("/api/streaming/streams/cam-1/start", "http://streaming:8001"),
        ("/api/streaming/streams/", "http://streaming:8001"),
        ("/api/streaming/cameras/cam-1/snapshot", "http://streaming:8001"),
        ("/api/streaming/recordings/", "http://streaming:8001"),
        ("/api/streaming/exports", "http://streaming:8001"),
        ("/api/streaming/openapi.json", "http://streaming:8001"),
        ("/api/ai/watchlists/", "http://streaming:8001"),
        ("/api/ai/detections/", "http://streaming:8001"),
        ("/api/ai/alerts/a-1/ack", "http://streaming:8001"),
        ("/api/ai/lpr/recognize", "http://streaming:8001"),
        ("/ws/alerts", "http://streaming:8001"),
    ],
)
def test_every_spec_path_routes_to_its_service(
    kong: dict[str, Any], path: str, upstream: str
) -> None:
    found = match(kong, path)
    assert found is not None, f"no Kong route for {path}"
    service, route = found
    assert service["url"] == upstream
    assert route.get("strip_path") is False, "services expect the full path"


def test_prefixes_do_not_swallow_neighbours(kong: dict[str, Any]) -> None:
    assert match(kong, "/api/adminx/") is None
    assert match(kong, "/api/aix") is None
    assert match(kong, "/healthz") is None


def test_websocket_route_exists_with_long_timeouts(kong: dict[str, Any]) -> None:
    service, route = match(kong, "/ws/alerts") or ({}, {})
    assert set(route["protocols"]) == {"http", "https"}  # Kong OSS upgrades on http routes
    assert service["read_timeout"] >= 3_600_000
    assert service["write_timeout"] >= 3_600_000


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_paths_need_no_jwt(kong: dict[str, Any], path: str) -> None:
    _, route = match(kong, path) or ({}, {})
    assert route, path
    assert plugin(route, "jwt") is None
    assert global_plugin(kong, "jwt") is None  # a global jwt would cover public routes too


@pytest.mark.parametrize(
    "path",
    ["/api/admin/me", "/api/cidades/cameras/", "/api/streaming/streams/", "/api/ai/alerts/"],
)
def test_protected_paths_verify_rs256_jwt_and_limit_100_per_minute_per_user(
    kong: dict[str, Any], path: str
) -> None:
    _, route = match(kong, path) or ({}, {})
    jwt = plugin(route, "jwt")
    assert jwt is not None
    assert jwt["config"]["key_claim_name"] == "iss"
    assert "exp" in jwt["config"]["claims_to_verify"]
    limit = plugin(route, "rate-limiting")
    assert limit is not None
    assert limit["config"]["minute"] == 100
    assert limit["config"]["limit_by"] == "header"
    assert limit["config"]["header_name"] == "X-GTV-Rate-Subject"
    # Secrets are references to the environment, never literals.
    assert limit["config"]["redis"]["password"].startswith("{vault://env/")


def test_rate_limit_subject_comes_from_the_token_sub_and_is_never_client_supplied(
    kong: dict[str, Any],
) -> None:
    pre = global_plugin(kong, "pre-function")
    assert pre is not None
    code = "\n".join(pre["config"]["access"])
    assert 'clear_header("X-GTV-Rate-Subject")' in code
    assert code.index("clear_header") < code.index("set_header")
    assert '"sub"' in code


def test_consumer_credential_is_rs256_keyed_by_issuer(kong: dict[str, Any]) -> None:
    (consumer,) = kong["consumers"]
    (secret,) = consumer["jwt_secrets"]
    assert secret["algorithm"] == "RS256"
    assert secret["key"] == "gt-vision-admin"
    # The committed file holds a placeholder, never a key.
    assert secret["rsa_public_key"].strip() == "__GTV_JWT_PUBLIC_KEY__"
    assert "BEGIN" not in KONG_YML.read_text()


def test_cors_correlation_id_transformers_and_logging_are_enabled(kong: dict[str, Any]) -> None:
    cors = global_plugin(kong, "cors")
    assert cors is not None and "Authorization" in cors["config"]["headers"]
    correlation = global_plugin(kong, "correlation-id")
    assert correlation is not None
    assert correlation["config"]["header_name"] == "X-Correlation-ID"
    assert correlation["config"]["echo_downstream"] is True
    request = global_plugin(kong, "request-transformer")
    response = global_plugin(kong, "response-transformer")
    assert request is not None and "X-Gateway:kong" in request["config"]["add"]["headers"]
    assert response is not None and "Server" in response["config"]["remove"]["headers"]
    assert global_plugin(kong, "file-log") or global_plugin(kong, "http-log")


def test_render_step_fills_key_and_origins(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "jwt_public.pem").write_bytes(pem)
    out = tmp_path / "kong.yml"
    subprocess.run(
        ["sh", str(RENDER)],
        env={
            "PATH": "/usr/bin:/bin",
            "KONG_TEMPLATE": str(KONG_YML),
            "KONG_DECLARATIVE_CONFIG": str(out),
            "GTV_JWT_PUBLIC_KEY_FILE": str(tmp_path / "jwt_public.pem"),
            "GTV_CORS_ORIGINS": "https://vms.example.gov.br,https://ops.example.gov.br",
        },
        check=True,
        capture_output=True,
        timeout=30,
    )
    rendered = yaml.safe_load(out.read_text())
    secret = rendered["consumers"][0]["jwt_secrets"][0]
    assert secret["rsa_public_key"].strip() == pem.decode().strip()
    serialization.load_pem_public_key(secret["rsa_public_key"].encode())
    cors = next(p for p in rendered["plugins"] if p["name"] == "cors")
    assert cors["config"]["origins"] == ["https://vms.example.gov.br", "https://ops.example.gov.br"]


def test_render_step_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", str(RENDER), "true"],
        env={
            "PATH": "/usr/bin:/bin",
            "KONG_TEMPLATE": str(KONG_YML),
            "KONG_DECLARATIVE_CONFIG": str(tmp_path / "kong.yml"),
            "GTV_JWT_PUBLIC_KEY_FILE": str(tmp_path / "missing.pem"),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "public key" in result.stderr


# --- Kong routes against the services' own OpenAPI documents -----------------------------


def _concrete(path: str) -> str:
    """An OpenAPI path template made concrete: /x/{id}/y -> /x/sample/y."""
    return re.sub(r"\{[^/}]+\}", "sample", path)


def _streaming_openapi_paths() -> list[str]:
    try:
        main = importlib.import_module("streaming_service.main")
        app = main.create_app()
    except (ImportError, AttributeError) as exc:  # the service may not be complete yet
        pytest.skip(f"streaming_service.main.create_app is not usable yet: {exc!r}")
    return sorted(app.openapi()["paths"])


def _admin_openapi() -> dict[str, Any]:
    try:
        from drf_spectacular.generators import SchemaGenerator
    except ImportError as exc:
        pytest.skip(f"drf-spectacular is not installed: {exc}")
    try:
        return dict(SchemaGenerator().get_schema(request=None, public=True))
    except Exception as exc:  # the admin service's URLconf may not be complete yet
        pytest.skip(f"the admin service's OpenAPI document cannot be generated yet: {exc!r}")


def _admin_openapi_paths() -> list[str]:
    return sorted(_admin_openapi()["paths"])


def test_every_admin_operation_without_auth_is_public_at_kong(kong: dict[str, Any]) -> None:
    """An operation the admin service serves without a token (``security: [{}]``) must
    not meet Kong's JWT check: an invitee, who has no token, could not accept."""
    public = {path for path, operations in _admin_openapi()["paths"].items()
              for operation in operations.values()
              if isinstance(operation, dict) and {} in operation.get("security", [{}])}
    assert "/api/admin/auth/invitations/accept" in public
    guarded = [path for path in sorted(public)
               if plugin((match(kong, path) or ({}, {"plugins": [{"name": "jwt"}]}))[1], "jwt")]
    assert guarded == []


def check_openapi_paths_are_routed(
    kong: dict[str, Any], documented: list[str], upstream: str
) -> list[str]:
    """Problems: each documented path must reach ``upstream`` through some Kong route."""
    problems = []
    for path in documented:
        if path in INTERNAL_PATHS or path == "/health":
            continue
        found = match(kong, _concrete(path))
        if found is None:
            problems.append(f"{path}: no Kong route")
        elif found[0]["url"] != upstream:
            problems.append(f"{path}: routed to {found[0]['url']}, served by {upstream}")
    return problems


def test_every_path_in_streaming_openapi_is_routed_by_kong(kong: dict[str, Any]) -> None:
    documented = _streaming_openapi_paths()
    assert documented, "the streaming service documents no path"
    assert check_openapi_paths_are_routed(kong, documented, "http://streaming:8001") == []


def test_every_path_in_admin_openapi_is_routed_by_kong(kong: dict[str, Any]) -> None:
    documented = _admin_openapi_paths()
    assert documented, "the admin service documents no path"
    assert check_openapi_paths_are_routed(kong, documented, "http://admin:8000") == []


@pytest.mark.parametrize(
    "path", ["/api/streaming/live/cam/seg_1.ts", "/api/streaming/media/recordings/a/b.mp4"]
)
def test_player_media_bypasses_jwt_but_keeps_an_ip_limit(kong: dict[str, Any], path: str) -> None:
    found = match(kong, path)
    assert found is not None
    service, route = found
    assert service["name"] == "streaming"
    assert plugin(route, "jwt") is None, "players authenticate media with short-lived tokens"
    limit = plugin(route, "rate-limiting")
    assert limit is not None and limit["config"]["limit_by"] == "ip"
    assert limit["config"]["minute"] >= 10_000
    assert set(route["methods"]) <= {"GET", "HEAD", "OPTIONS"}


# --- the security edge (issue 9) ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/streaming/mediamtx/auth", "/api/streaming/mediamtx/segment-complete",
     "/api/streaming/mediamtx"],
)
def test_mediamtx_hooks_answer_404_in_the_error_shape_and_never_reach_the_service(
    kong: dict[str, Any], path: str
) -> None:
    found = match(kong, path)
    assert found is not None
    _, route = found
    termination = plugin(route, "request-termination")
    assert termination is not None, f"{path} would be proxied to the streaming service"
    config = termination["config"]
    assert config["status_code"] == 404
    assert config["content_type"] == "application/json"
    body = json.loads(config["body"])
    assert set(body) == {"error"} and body["error"]["code"] == "not_found"
    assert set(body["error"]) == {"code", "message", "details"}


def test_login_is_limited_per_client_address(kong: dict[str, Any]) -> None:
    _, route = match(kong, "/api/admin/auth/token") or ({}, {})
    limit = plugin(route, "rate-limiting")
    assert limit is not None
    assert limit["config"]["limit_by"] == "ip"  # the real client: KONG_TRUSTED_IPS = HAProxy
    assert limit["config"]["minute"] <= 20


def test_bodies_are_capped_with_a_larger_cap_only_for_lpr_uploads(kong: dict[str, Any]) -> None:
    from streaming_service.settings import StreamingSettings

    units = {"bytes": 1, "kilobytes": 1024, "megabytes": 1024 * 1024}

    def cap(config: dict[str, Any]) -> int:
        return int(config["allowed_payload_size"]) * units[config.get("size_unit", "megabytes")]

    everywhere = global_plugin(kong, "request-size-limiting")
    assert everywhere is not None
    assert cap(everywhere["config"]) == 1024 * 1024
    _, upload = match(kong, "/api/ai/lpr/recognize") or ({}, {})
    upload_limit = plugin(upload, "request-size-limiting")
    assert upload_limit is not None
    lpr_max = StreamingSettings.model_fields["lpr_upload_max_bytes"].default
    # Above the service's own cap (it answers 413 itself with details), but bounded.
    assert lpr_max + 64 * 1024 <= cap(upload_limit["config"]) <= 16 * 1024 * 1024
    # The upload route keeps the protection of every other /api/ai/ route.
    assert plugin(upload, "jwt") is not None
    assert plugin(upload, "rate-limiting")["config"]["limit_by"] == "header"  # type: ignore[index]
    # nginx's own cap (also for chunked bodies) is the largest route cap.
    kong_env = (DEPLOY / "env" / "kong.env.example").read_text()
    assert "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE=9m" in kong_env.splitlines()
    assert cap(upload_limit["config"]) == 9 * 1024 * 1024


def test_file_log_keeps_no_query_string_or_credential(kong: dict[str, Any]) -> None:
    """Kong's serializer logs request.uri/url and upstream_uri with the query string and
    request.querystring parsed: ?token=<JWT>, media tokens and ?sig= would all be kept."""
    log = global_plugin(kong, "file-log")
    assert log is not None
    fields = log["config"]["custom_fields_by_lua"]
    for key in ("request.uri", "request.url", "upstream_uri"):
        code = fields[key]
        assert "get_raw_path()" in code and "query" not in code.lower(), key
    for key in ("request.querystring", "request.headers.authorization", "request.headers.cookie",
                "request.headers.sec-websocket-protocol", "response.headers.set-cookie"):
        assert fields[key].strip() == "return nil", key


@pytest.mark.parametrize("path", ["/metrics", "/ready", "/api/streaming/metrics"])
def test_service_metrics_and_readiness_are_not_routed(kong: dict[str, Any], path: str) -> None:
    found = match(kong, path)
    assert found is None or plugin(found[1], "jwt") is not None, path
    assert match(kong, "/metrics") is None and match(kong, "/ready") is None
