"""Static files under gunicorn (WhiteNoise, DEBUG off) and Swagger UI that works offline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db

DOCS = "/api/admin/docs/"
_ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
_ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+""")


@pytest.fixture
def collected(tmp_path: Path, settings: Any) -> Path:
    """``collectstatic`` into a fresh STATIC_ROOT, as the Dockerfile and the demo do."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--noinput", verbosity=0)
    return Path(settings.STATIC_ROOT)


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def test_admin_css_is_served_after_collectstatic(collected: Path) -> None:
    url = static("admin/css/base.css")
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", url)  # hashed name
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]  # hashed: browsers keep it for good
    assert len(_body(response)) > 0


def test_pages_render_before_collectstatic_with_plain_static_urls(
    tmp_path: Path, settings: Any, client: Client
) -> None:
    settings.STATIC_ROOT = tmp_path / "never-collected"
    assert static("admin/css/base.css") == "/static/admin/css/base.css"
    assert client.get(DOCS).status_code == 200
    assert client.get("/admin/login/").status_code == 200


def test_docs_page_references_no_external_host(client: Client) -> None:
    response = client.get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    assert _ABSOLUTE.findall(html) == []
    assets = _ASSET.findall(html)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle" in a for a in assets)
    assert all(a.startswith("/static/") for a in assets), assets
    assert '"validatorUrl": null' in html


def test_every_docs_asset_is_served_from_our_static_files(collected: Path) -> None:
    client = Client()
    html = client.get(DOCS).content.decode()
    assets = _ASSET.findall(html)
    assert len(assets) >= 4  # favicon, css, bundle, preset
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(_body(response)) > 0, asset
