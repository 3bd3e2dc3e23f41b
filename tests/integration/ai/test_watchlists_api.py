"""Watchlist CRUD over HTTP: roles, validation, tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx


async def test_operator_creates_watchlist_and_entries_viewer_reads_them(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    operator = make_caller("operator")
    viewer = make_caller("viewer", tenant_id=operator.tenant_id)
    created = await http.post("/api/ai/watchlists/", headers=operator.headers,
                              json={"name": "Roubados", "description": "stolen vehicles"})
    assert created.status_code == 201, created.text
    wl = created.json()
    entry = await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=operator.headers,
                            json={"plate": "abc-1234", "reason": "stolen",
                                  "severity": "high"})
    assert entry.status_code == 201, entry.text
    assert entry.json()["plate"] == "ABC1234" and entry.json()["is_exact"] is True
    pattern = await http.post(f"/api/ai/watchlists/{wl['id']}/entries/",
                              headers=operator.headers, json={"plate": "XYZ*"})
    assert pattern.status_code == 201 and pattern.json()["is_exact"] is False

    listed = await http.get("/api/ai/watchlists/", headers=viewer.headers)
    assert listed.status_code == 200
    assert [w["name"] for w in listed.json()["results"]] == ["Roubados"]
    entries = await http.get(f"/api/ai/watchlists/{wl['id']}/entries/", headers=viewer.headers)
    assert {e["plate"] for e in entries.json()["results"]} == {"ABC1234", "XYZ*"}
    first = await http.get(f"/api/ai/watchlists/{wl['id']}/entries/", headers=viewer.headers,
                           params={"page_size": 1})
    assert first.json()["count"] == 2 and len(first.json()["results"]) == 1
    second = await http.get(first.json()["next"], headers=viewer.headers)
    assert second.json()["previous"] is not None and second.json()["next"] is None
    assert {e["plate"] for e in first.json()["results"] + second.json()["results"]} == {
        "ABC1234", "XYZ*"}

    patched = await http.patch(f"/api/ai/watchlists/{wl['id']}", headers=operator.headers,
                               json={"description": "updated"})
    assert patched.json()["description"] == "updated"
    gone = await http.delete(
        f"/api/ai/watchlists/{wl['id']}/entries/{pattern.json()['id']}", headers=operator.headers)
    assert gone.status_code == 204
    deleted = await http.delete(f"/api/ai/watchlists/{wl['id']}", headers=operator.headers)
    assert deleted.status_code == 204
    after = await http.get(f"/api/ai/watchlists/{wl['id']}", headers=viewer.headers)
    assert after.status_code == 404


async def test_viewer_cannot_write(http: httpx.AsyncClient, make_caller: Any) -> None:
    viewer = make_caller("viewer")
    response = await http.post("/api/ai/watchlists/", headers=viewer.headers,
                               json={"name": "nope"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


async def test_anonymous_is_401(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/ai/watchlists/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_other_tenants_watchlist_is_404(http: httpx.AsyncClient, make_caller: Any) -> None:
    owner = make_caller("operator")
    stranger = make_caller("tenant_admin")
    wl = (await http.post("/api/ai/watchlists/", headers=owner.headers,
                          json={"name": "Private"})).json()
    for method, path, body in (
        ("GET", f"/api/ai/watchlists/{wl['id']}", None),
        ("PATCH", f"/api/ai/watchlists/{wl['id']}", {"name": "x"}),
        ("DELETE", f"/api/ai/watchlists/{wl['id']}", None),
        ("GET", f"/api/ai/watchlists/{wl['id']}/entries/", None),
        ("POST", f"/api/ai/watchlists/{wl['id']}/entries/", {"plate": "ABC1D23"}),
    ):
        response = await http.request(method, path, headers=stranger.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert "Private" not in response.text
    listed = await http.get("/api/ai/watchlists/", headers=stranger.headers)
    assert listed.json()["count"] == 0


async def test_bad_entries_are_400_and_duplicate_names_409(
    http: httpx.AsyncClient, make_caller: Any
) -> None:
    operator = make_caller("operator")
    wl = (await http.post("/api/ai/watchlists/", headers=operator.headers,
                          json={"name": "Dup"})).json()
    again = await http.post("/api/ai/watchlists/", headers=operator.headers, json={"name": "Dup"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "watchlist_name_taken"
    for body in ({"plate": "NOTAPLATE"}, {"plate": "*"}, {"plate": "AB"},
                 {"plate": "ABC1234", "severity": "urgent"},
                 {"plate": "ABC1234", "active_from": "2025-01-02T00:00:00Z",
                  "active_until": "2025-01-01T00:00:00Z"}):
        response = await http.post(f"/api/ai/watchlists/{wl['id']}/entries/",
                                   headers=operator.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
