"""deploy/mediamtx/mediamtx.yml against MediaMTX's own reference config and API schemas.

MediaMTX cannot run here: every key must exist in ../shared/mediamtx-reference.yml and
validate against the GlobalConf / PathConf schemas of ../shared/mediamtx-openapi.yaml;
the segment-complete hook is run the way MediaMTX runs it, against a local HTTP server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.deploy.deploy_support import DEPLOY

CONFIG = DEPLOY / "mediamtx" / "mediamtx.yml"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return dict(yaml.safe_load(CONFIG.read_text()))


@pytest.fixture(scope="module")
def reference(shared: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((shared / "mediamtx-reference.yml").read_text()))


@pytest.fixture(scope="module")
def openapi(shared: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((shared / "mediamtx-openapi.yaml").read_text()))


def strict_validator(openapi: dict[str, Any], name: str) -> jsonschema.Draft7Validator:
    """A validator for components/schemas/<name> that also rejects unknown and deprecated
    keys (OpenAPI 3.0's `nullable` aside, its schemas are JSON Schema draft 7)."""
    components = json.loads(json.dumps(openapi["components"]))
    schema = components["schemas"][name]
    schema["additionalProperties"] = False
    for key, prop in list(schema["properties"].items()):
        if prop.get("deprecated"):
            del schema["properties"][key]
    return jsonschema.Draft7Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


def without_nulls(section: dict[str, Any]) -> dict[str, Any]:
    # An empty YAML value means "MediaMTX's default"; its type is the reference's.
    return {k: v for k, v in section.items() if v is not None}


def type_mismatches(ours: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in ours.items():
        expected = ref.get(key)
        if value is None or expected is None:
            continue
        if isinstance(expected, bool) != isinstance(value, bool) or (
            type(expected) is not type(value) and not isinstance(value, type(expected))
        ):
            problems.append(
                f"{key}: {type(value).__name__}, reference has {type(expected).__name__}"
            )
    return problems


def test_every_top_level_key_exists_in_the_reference(
    config: dict[str, Any], reference: dict[str, Any]
) -> None:
    assert sorted(set(config) - set(reference)) == []
    assert type_mismatches(config, reference) == []


def test_every_path_default_exists_in_the_reference(
    config: dict[str, Any], reference: dict[str, Any]
) -> None:
    ours, ref = config["pathDefaults"], reference["pathDefaults"]
    assert sorted(set(ours) - set(ref)) == []
    assert type_mismatches(ours, ref) == []


def test_global_settings_validate_against_the_api_schema(
    config: dict[str, Any], openapi: dict[str, Any]
) -> None:
    global_conf = {k: v for k, v in config.items() if k not in ("pathDefaults", "paths")}
    errors = [
        e.message
        for e in strict_validator(openapi, "GlobalConf").iter_errors(without_nulls(global_conf))
    ]
    assert errors == []


def test_path_settings_validate_against_the_api_schema(
    config: dict[str, Any], openapi: dict[str, Any]
) -> None:
    validator = strict_validator(openapi, "PathConf")
    sections = [config["pathDefaults"], *[(p or {}) for p in config["paths"].values()]]
    for section in sections:
        assert [e.message for e in validator.iter_errors(without_nulls(section))] == []


def test_ports_of_spec(config: dict[str, Any]) -> None:
    assert config["api"] and config["apiAddress"] == ":9997"
    assert config["metrics"] and config["metricsAddress"] == ":9998"
    assert config["playback"] and config["playbackAddress"] == ":9996"
    assert config["rtspAddress"] == ":8554"
    assert config["rtmpAddress"] == ":1935"
    assert config["hlsAddress"] == ":8888"
    assert config["webrtcAddress"] == ":8889"


def test_auth_is_delegated_to_the_streaming_service(config: dict[str, Any]) -> None:
    assert config["authMethod"] == "http"
    assert config["authHTTPAddress"] == "http://streaming:8001/api/streaming/mediamtx/auth"
    assert {e["action"] for e in config["authHTTPExclude"]} == {"api", "metrics"}


def test_recording_defaults(config: dict[str, Any]) -> None:
    defaults = config["pathDefaults"]
    assert defaults["recordFormat"] == "fmp4"
    assert defaults["recordSegmentDuration"] == "60s"
    assert defaults["recordPath"].endswith("%path/%Y-%m-%d_%H-%M-%S-%f")
    assert defaults["recordDeleteAfter"] == "0s"


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str], dict[str, Any]]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (
            f"http://127.0.0.1:{server.server_port}/api/streaming/mediamtx/segment-complete",
            _Hook.received,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _go_os_expand(command: str, env: dict[str, str]) -> str:
    """Go's os.Expand, which some MediaMTX versions apply to the command first."""
    return re.sub(
        r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+)", lambda m: env.get(m.group(1) or m.group(2), ""), command
    )


@pytest.mark.parametrize("pre_expanded", [False, True])
def test_segment_complete_hook_posts_the_segment_to_the_streaming_service(
    config: dict[str, Any],
    hook_server: tuple[str, list[tuple[str, dict[str, str], dict[str, Any]]]],
    pre_expanded: bool,
) -> None:
    url, received = hook_server
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GTV_SEGMENT_HOOK_URL": url,
        "GTV_MEDIAMTX_HOOK_TOKEN": "hook-token",
        "MTX_PATH": "cam-42",
        "MTX_SEGMENT_PATH": "/recordings/cam-42/2026-01-02_03-04-05-000000.mp4",
        "MTX_SEGMENT_DURATION": "60s",
    }
    command = config["pathDefaults"]["runOnRecordSegmentComplete"]
    if pre_expanded:
        command = _go_os_expand(command, env)
    subprocess.run(shlex.split(command), env=env, check=True, timeout=30, capture_output=True)
    ((path, headers, body),) = received
    assert path == "/api/streaming/mediamtx/segment-complete"
    assert headers["X-GTV-Hook-Token"] == "hook-token"
    assert body == {
        "path": "cam-42",
        "segment_path": "/recordings/cam-42/2026-01-02_03-04-05-000000.mp4",
        "segment_duration": "60s",
    }
