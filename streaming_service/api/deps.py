"""Annotated dependencies of the API: the service container (``bootstrap.Services``), the
caller's verified claims, role checks and tenant scoping."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
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

BEARER_DESCRIPTION = "Access token issued by the admin service"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "not_authenticated", message,
                    headers={"WWW-Authenticate": 'Bearer realm="gt-vision"'})


async def verify_token(services: Services, token: str) -> TokenClaims:
    try:
        return await services.verifier.averify(token, services.denylist)
    except InvalidToken as exc:
        raise _unauthorized("invalid or expired token") from exc


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


class BearerAuth(HTTPBearer):
    """The caller's verified claims, with the role checked and the tenant chosen, as one
    dependency.

    FastAPI resolves every node of a route's dependency tree anew on each request, and on
    a cached read that resolution cost more than the read itself (the claims used to be
    five nodes: the bearer scheme, the services twice, the token check, the role check).
    This is one node that takes the request; being FastAPI's ``HTTPBearer``, the OpenAPI
    document still names the bearer scheme on every route that uses it.
    """

    def __init__(self, role: Role | None = None, *, scoped: bool = True) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description=BEARER_DESCRIPTION)
        self.role = role
        self.scoped = scoped

    async def __call__(self, request: Request) -> TokenClaims:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise _unauthorized("authentication credentials were not provided")
        services: Services = request.app.state.services
        claims = await verify_token(services, credentials.credentials)
        if self.role is not None and not claims.has_at_least(self.role):
            raise ApiError(403, "permission_denied",
                           f"this action needs the {self.role.value} role",
                           {"required_role": self.role.value})
        return await scoped_claims(services, claims, request) if self.scoped else claims


# Any valid token, its tenant not chosen: for routes that touch no tenant's data.
ClaimsDep = Annotated[TokenClaims, Depends(BearerAuth(scoped=False))]
ViewerDep = Annotated[TokenClaims, Depends(BearerAuth(Role.VIEWER))]
OperatorDep = Annotated[TokenClaims, Depends(BearerAuth(Role.OPERATOR))]
TenantAdminDep = Annotated[TokenClaims, Depends(BearerAuth(Role.TENANT_ADMIN))]


def tenant_scope(claims: TokenClaims) -> uuid.UUID:
    """The tenant every query of this caller is restricted to (claims from ``BearerAuth``
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

