"""Schemathesis hooks of the API fuzz test (``test_api_fuzz.py``), loaded by the CLI
through ``SCHEMATHESIS_HOOKS=tests.e2e.fuzz.hooks``; the test passes what they need in
the JSON file named by ``GTV_FUZZ_CONFIG``:

* ``claims``/``private_key_file``: each request carries a freshly minted access token
  with the claims the admin service issued at login (same key, same issuer) and a session
  id of its own, so a generated ``POST /api/admin/auth/logout`` ends only that request's
  token and session, and the run keeps its identity;
* ``known``: real ids of the seeded data per parameter name (``camera_id``, and ``id:<list>``
  for the admin service's ``/<list>/{id}/``), mixed into the generated values so that
  operations reach their real code paths, not only their 404s;
* ``counts_file``: where the number of requests sent is written at exit.

``error_shape`` is the project's check: every response of status 400 or more is JSON in
the one error shape ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import schemathesis
from hypothesis import strategies as st

_CONFIG: dict[str, Any] = json.loads(Path(os.environ["GTV_FUZZ_CONFIG"]).read_text())
_KEY = Path(_CONFIG["private_key_file"]).read_text()
_KNOWN: dict[str, list[str]] = _CONFIG.get("known", {})
_lock = threading.Lock()
_calls = {"requests": 0}


def _write_count() -> None:
    Path(_CONFIG["counts_file"]).write_text(json.dumps(_calls))


atexit.register(_write_count)


@schemathesis.auth(refresh_interval=None)
class FreshAccessToken:
    def get(self, case: Any, ctx: Any) -> str:
        now = int(time.time())
        # A session of its own too (``sid``): a generated logout ends only that one.
        claims = {**_CONFIG["claims"], "jti": uuid.uuid4().hex, "sid": uuid.uuid4().hex,
                  "iat": now, "exp": now + 600}
        return jwt.encode(claims, _KEY, algorithm="RS256")

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _known_values(path: str, name: str) -> list[str]:
    if name == "id":  # the admin service's /<list>/{id}/: the list names the kind
        return _KNOWN.get(f"id:{path.split('/{id}')[0].rstrip('/').rsplit('/', 1)[-1]}", [])
    return _KNOWN.get(name, [])


def _mixed(path: str, values: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    if not values:
        return st.just(values)
    choices = {name: st.sampled_from([value, *known]) for name, value in values.items()
               if (known := _known_values(path, name))}
    if not choices:
        return st.just(values)
    return st.fixed_dictionaries(choices).map(lambda picked: {**values, **picked})


@schemathesis.hook
def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> Any:
    return _mixed(ctx.operation.path, path_parameters)


@schemathesis.hook
def flatmap_query(ctx: Any, query: dict[str, Any] | None) -> Any:
    return _mixed(ctx.operation.path, query)


@schemathesis.hook
def filter_case(ctx: Any, case: Any) -> bool:
    """Never change or replace the fuzzing user itself (the stateful phase finds its id
    through ``GET /api/admin/me``): a role or status change would end the run's access.
    Deleting it stays in: the service refuses to deactivate the caller."""
    own = str(_CONFIG["claims"].get("user_id"))
    return not (case.method.upper() in ("PUT", "PATCH")
                and case.operation.path == "/api/admin/users/{id}/"
                and str((case.path_parameters or {}).get("id")) == own)


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    with _lock:
        _calls["requests"] += 1


def _shape_problem(response: Any) -> str | None:
    try:
        body = response.json()
    except Exception:
        return f"the body is not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"error"}:
        return f"the body is not {{'error': ...}}: {response.content[:300]!r}"
    error = body["error"]
    if not isinstance(error, dict) or set(error) != {"code", "message", "details"}:
        return f"'error' does not hold exactly code, message, details: {error!r:.300}"
    if not (isinstance(error["code"], str) and error["code"]
            and isinstance(error["message"], str) and isinstance(error["details"], dict)):
        return f"code/message must be strings and details an object: {error!r:.300}"
    return None


@schemathesis.check
def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error response is JSON in the project's one error shape."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    problem = _shape_problem(response)
    if problem is not None:
        raise AssertionError(f"{response.status_code} not in the error shape: {problem}")
    return None
