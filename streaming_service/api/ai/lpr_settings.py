"""``/api/ai/lpr/settings``: the tenant's plate-reading policy (confidence a read needs to
raise an alert, watchlist match distance). Viewers read it; tenant admins replace it,
audited in the change's transaction."""

from __future__ import annotations

from fastapi import Request

from streaming_service.api.ai.schemas import LprSettingsIn, LprSettingsOut
from streaming_service.api.deps import (
    ServicesDep,
    TenantAdminDep,
    ViewerDep,
    actor_of,
    tenant_scope,
)
from streaming_service.api.routing import PrefixRouter
from streaming_service.domain.ai.lpr_settings import LprPolicy

router = PrefixRouter(prefix="/api/ai/lpr/settings", tags=["lpr"])


def _out(policy: LprPolicy) -> LprSettingsOut:
    return LprSettingsOut(min_confidence=policy.min_confidence,
                          match_distance=policy.match_distance,
                          fuzzy_min_severity=policy.fuzzy_min_severity)


@router.get("", response_model=LprSettingsOut, summary="The tenant's LPR settings")
async def get_settings(claims: ViewerDep, services: ServicesDep) -> LprSettingsOut:
    return _out(await services.lpr_settings.get(tenant_scope(claims)))


@router.put("", response_model=LprSettingsOut,
            summary="Replace the tenant's LPR settings (tenant admin; audited)")
async def put_settings(body: LprSettingsIn, claims: TenantAdminDep, services: ServicesDep,
                       request: Request) -> LprSettingsOut:
    policy = LprPolicy(min_confidence=body.min_confidence, match_distance=body.match_distance,
                       fuzzy_min_severity=body.fuzzy_min_severity)
    updated = await services.lpr_settings.update(tenant_scope(claims), policy,
                                                 actor=actor_of(claims, request))
    return _out(updated)
