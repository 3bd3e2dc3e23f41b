"""admin_service/gunicorn.conf.py: what the admin service's server writes to its log."""

from __future__ import annotations

import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[3] / "admin_service" / "gunicorn.conf.py"


def test_no_access_log_that_would_keep_query_strings() -> None:
    """gunicorn's request line keeps the query string (plate searches, filters on people)
    and the Referer; HAProxy logs each request once, path only."""
    settings = runpy.run_path(str(CONF))
    assert settings["accesslog"] is None
