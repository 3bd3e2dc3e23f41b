"""Plate searches and watchlist changes are audited (issue 9, item 4): a plate is personal
data, and a watchlist targets people's cars. Read from the streaming outbox, where each
audit record commits with its change or before its data leaves."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .conftest import audit_records


async def _activities(sessions: async_sessionmaker[AsyncSession],
                      user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await audit_records(sessions, user_id=str(user_id))


async def test_watchlist_and_entry_changes_are_audited_with_before_and_after(
    http: httpx.AsyncClient, make_caller: Any, sessions: Any,
) -> None:
    operator = make_caller("operator")
    created = await http.post("/api/ai/watchlists/", headers=operator.headers,
                              json={"name": "Audited", "description": "first"})
    wl = created.json()
    entry = (await http.post(f"/api/ai/watchlists/{wl['id']}/entries/",
                             headers=operator.headers,
                             json={"plate": "RIO2A18", "reason": "stolen",
                                   "severity": "high"})).json()
    await http.patch(f"/api/ai/watchlists/{wl['id']}", headers=operator.headers,
                     json={"description": "second"})
    await http.delete(f"/api/ai/watchlists/{wl['id']}/entries/{entry['id']}",
                      headers=operator.headers)
    await http.delete(f"/api/ai/watchlists/{wl['id']}", headers=operator.headers)

    records = await _activities(sessions, operator.user_id)
    assert [r["action"] for r in records] == [
        "watchlist.create", "watchlist_entry.create", "watchlist.update",
        "watchlist_entry.delete", "watchlist.delete"]
    assert all(r["tenant_id"] == str(operator.tenant_id) for r in records)
    assert records[1]["after"]["plate_pattern"] == "RIO2A18"
    assert records[2]["before"]["description"] == "first"
    assert records[2]["after"]["description"] == "second"
    assert records[3]["before"]["reason"] == "stolen"


async def test_a_rejected_change_leaves_no_audit_record(
    http: httpx.AsyncClient, make_caller: Any, sessions: Any,
) -> None:
    operator = make_caller("operator")
    await http.post("/api/ai/watchlists/", headers=operator.headers, json={"name": "Twice"})
    taken = await http.post("/api/ai/watchlists/", headers=operator.headers,
                            json={"name": "Twice"})
    assert taken.status_code == 409
    records = await _activities(sessions, operator.user_id)
    assert [r["action"] for r in records] == ["watchlist.create"]


async def test_every_plate_search_is_audited_with_its_filters(
    http: httpx.AsyncClient, make_caller: Any, sessions: Any,
) -> None:
    viewer = make_caller("viewer")
    camera = uuid.uuid4()
    for plate in ("ABC1D23", "ABC*"):
        response = await http.get("/api/ai/detections/", headers=viewer.headers,
                                  params={"plate": plate, "camera_id": str(camera)})
        assert response.status_code == 200, response.text
    records = await _activities(sessions, viewer.user_id)
    assert [(r["action"], r["after"]["plate"]) for r in records] == [
        ("detection.search", "ABC1D23"), ("detection.search", "ABC*")]
    assert records[0]["after"]["camera_id"] == str(camera)
    assert records[0]["ip"] == "127.0.0.1"
