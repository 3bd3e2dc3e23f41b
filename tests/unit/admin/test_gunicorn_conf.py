"""admin_service/gunicorn.conf.py: what the admin service's server writes to its log, and
what it opens besides its port."""

from __future__ import annotations

import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[3] / "admin_service" / "gunicorn.conf.py"


def test_no_access_log_that_would_keep_query_strings() -> None:
    """gunicorn's request line keeps the query string (plate searches, filters on people)
    and the Referer; HAProxy logs each request once, path only."""
    settings = runpy.run_path(str(CONF))
    assert settings["accesslog"] is None


def test_no_control_socket() -> None:
    """Nothing uses gunicornc; without the socket nobody can resize or stop the service
    through it, and a read-only home logs no error at start."""
    settings = runpy.run_path(str(CONF))
    assert settings["control_socket_disable"] is True
