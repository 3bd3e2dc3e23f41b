"""Annotated dependencies of the API: the service container (``bootstrap.Services``), the
caller's verified claims, role checks and tenant scoping."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from shared_kernel.auth import InvalidToken, Role, TokenClaims
from streaming_service.api.errors import ApiError
from streaming_service.application.audit import Actor
from streaming_service.bootstrap import Services


async def get_services(request: Request) -> Services:
    # Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` one in
    # its thread pool, a thread hand-off per request for nothing.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="Access token issued by the admin service")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "not_authenticated", message,
                    headers={"WWW-Authenticate": 'Bearer realm="gt-vision"'})


async def verify_token(services: Services, token: str) -> TokenClaims:
    try:
        return await services.verifier.averify(token, services.denylist)
    except InvalidToken as exc:
        raise _unauthorized("invalid or expired token") from exc


async def current_claims(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("authentication credentials were not provided")
    return await verify_token(services, credentials.credentials)


ClaimsDep = Annotated[TokenClaims, Depends(current_claims)]


TENANT_HEADER = "X-GTV-Tenant-ID"


async def scoped_claims(services: Services, claims: TokenClaims, request: Request) -> TokenClaims:
    """The claims every query of this request is scoped by.

    A tenant user's token names its tenant. A superadmin's names none and must choose one
    explicitly with the ``X-GTV-Tenant-ID`` header; the choice is audited (once per tenant
    and audit window) before any of that tenant's data is read — never every tenant's at
    once, never unaudited.
    """
    if claims.tenant_id is not None:
        return claims
    if not claims.is_superadmin:
        raise ApiError(403, "permission_denied", "the token names no tenant")
    raw = request.headers.get(TENANT_HEADER)
    if not raw:
        raise ApiError(403, "tenant_required",
                       f"a superadmin must choose a tenant with the {TENANT_HEADER} header",
                       {"header": TENANT_HEADER})
    try:
        tenant_id = uuid.UUID(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_tenant", f"{TENANT_HEADER} is not a UUID",
                       {"header": TENANT_HEADER}) from exc
    await services.audit.record_view(
        actor_of(claims, request), "tenant.access", object_type="tenant", object_id=tenant_id,
        tenant_id=tenant_id, after={"path": request.url.path[:200]})
    return claims.model_copy(update={"tenant_id": tenant_id})


def require_role(role: Role) -> Callable[..., Awaitable[TokenClaims]]:
    async def _check(claims: ClaimsDep, services: ServicesDep, request: Request) -> TokenClaims:
        if not claims.has_at_least(role):
            raise ApiError(403, "permission_denied", f"this action needs the {role.value} role",
                           {"required_role": role.value})
        return await scoped_claims(services, claims, request)

    return _check


ViewerDep = Annotated[TokenClaims, Depends(require_role(Role.VIEWER))]
OperatorDep = Annotated[TokenClaims, Depends(require_role(Role.OPERATOR))]
TenantAdminDep = Annotated[TokenClaims, Depends(require_role(Role.TENANT_ADMIN))]


def tenant_scope(claims: TokenClaims) -> uuid.UUID:
    """The tenant every query of this caller is restricted to (claims from ``require_role``
    always name one: a superadmin's chosen tenant)."""
    if claims.tenant_id is None:
        raise ApiError(403, "tenant_required", "the token names no tenant")
    return claims.tenant_id


def client_ip(connection: HTTPConnection) -> str | None:
    """The caller's address for audit entries: ``connection.client`` as rewritten by
    ``ForwardedHeadersMiddleware`` (the shared trusted-proxy rule, ``GTV_TRUSTED_PROXIES``),
    never a client-supplied ``X-Forwarded-For``. Takes a request or a WebSocket."""
    return connection.client.host if connection.client else None


def actor_of(claims: TokenClaims, request: Request) -> Actor:
    return Actor.from_claims(claims, ip=client_ip(request),
                             user_agent=request.headers.get("user-agent", ""))

