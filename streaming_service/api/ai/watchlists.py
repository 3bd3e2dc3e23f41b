"""Watchlists and their entries: viewers read, operators and above write; tenant-scoped
(another tenant's watchlist answers 404)."""

from __future__ import annotations

import uuid

from fastapi import Request, Response, status

from shared_kernel.plates import PlatePattern
from streaming_service.api.ai.schemas import (
    EntryIn,
    EntryOut,
    WatchlistIn,
    WatchlistOut,
    WatchlistPatch,
)
from streaming_service.api.deps import (
    OperatorDep,
    ServicesDep,
    ViewerDep,
    actor_of,
    tenant_scope,
)
from streaming_service.api.errors import ApiError
from streaming_service.api.pagination import PageDep, PageOut, page_out
from streaming_service.api.routing import PrefixRouter
from streaming_service.application.ai.watchlists import EntryInput
from streaming_service.domain.ai.watchlist import WatchlistNameTaken

router = PrefixRouter(prefix="/api/ai/watchlists", tags=["watchlists"])


def _conflict(exc: WatchlistNameTaken) -> ApiError:
    return ApiError(409, exc.code, exc.message, exc.details)


@router.get("/", response_model=PageOut[WatchlistOut], summary="The tenant's watchlists")
async def list_watchlists(
    claims: ViewerDep,
    services: ServicesDep,
    page: PageDep,
    request: Request,
) -> PageOut[WatchlistOut]:
    result = await services.watchlists.list(tenant_scope(claims), offset=page.offset,
                                            limit=page.size)
    return page_out(request, page, result.total,
                    [WatchlistOut.model_validate(w) for w in result.items])


@router.post("/", response_model=WatchlistOut, status_code=status.HTTP_201_CREATED)
async def create_watchlist(body: WatchlistIn, claims: OperatorDep, services: ServicesDep,
                           request: Request) -> WatchlistOut:
    try:
        watchlist = await services.watchlists.create(
            tenant_scope(claims), name=body.name, description=body.description,
            actor=actor_of(claims, request),
        )
    except WatchlistNameTaken as exc:
        raise _conflict(exc) from exc
    return WatchlistOut.model_validate(watchlist)


@router.get("/{watchlist_id}", response_model=WatchlistOut)
async def get_watchlist(watchlist_id: uuid.UUID, claims: ViewerDep,
                        services: ServicesDep) -> WatchlistOut:
    watchlist = await services.watchlists.get(watchlist_id, tenant_scope(claims))
    return WatchlistOut.model_validate(watchlist)


@router.patch("/{watchlist_id}", response_model=WatchlistOut)
async def update_watchlist(watchlist_id: uuid.UUID, body: WatchlistPatch, claims: OperatorDep,
                           services: ServicesDep, request: Request) -> WatchlistOut:
    try:
        watchlist = await services.watchlists.update(
            watchlist_id, tenant_scope(claims), name=body.name,
            description=body.description, actor=actor_of(claims, request),
        )
    except WatchlistNameTaken as exc:
        raise _conflict(exc) from exc
    return WatchlistOut.model_validate(watchlist)


@router.delete("/{watchlist_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_watchlist(watchlist_id: uuid.UUID, claims: OperatorDep, services: ServicesDep,
                           request: Request) -> Response:
    await services.watchlists.delete(watchlist_id, tenant_scope(claims),
                                     actor=actor_of(claims, request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{watchlist_id}/entries/", response_model=PageOut[EntryOut])
async def list_entries(watchlist_id: uuid.UUID, claims: ViewerDep, services: ServicesDep,
                       page: PageDep, request: Request) -> PageOut[EntryOut]:
    result = await services.watchlists.list_entries(watchlist_id, tenant_scope(claims),
                                                    offset=page.offset, limit=page.size)
    return page_out(request, page, result.total,
                    [EntryOut.model_validate(e) for e in result.items])


@router.post("/{watchlist_id}/entries/", response_model=EntryOut,
             status_code=status.HTTP_201_CREATED)
async def add_entry(watchlist_id: uuid.UUID, body: EntryIn, claims: OperatorDep,
                    services: ServicesDep, request: Request) -> EntryOut:
    entry = await services.watchlists.add_entry(
        watchlist_id, tenant_scope(claims),
        EntryInput(
            plate_pattern=PlatePattern(body.plate), reason=body.reason, severity=body.severity,
            active_from=body.active_from, active_until=body.active_until,
        ),
        actor=actor_of(claims, request),
    )
    return EntryOut.model_validate(entry)


@router.delete("/{watchlist_id}/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_entry(watchlist_id: uuid.UUID, entry_id: uuid.UUID, claims: OperatorDep,
                       services: ServicesDep, request: Request) -> Response:
    await services.watchlists.delete_entry(watchlist_id, entry_id, tenant_scope(claims),
                                           actor=actor_of(claims, request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
