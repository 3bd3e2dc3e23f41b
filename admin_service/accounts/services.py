"""Use cases on users and sessions: each change is saved, audited and (when other
services care) published through the outbox in one transaction."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from audit.services import record
from config.exceptions import ServiceUnavailable
from config.redis import get_redis
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from outbox.services import enqueue
from rest_framework import exceptions
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.login_guard import LoginRefused, login_guard
from accounts.models import Invitation, User
from shared_kernel.auth import RedisDenylist, Role
from shared_kernel.events import UserRoleChanged

log = logging.getLogger(__name__)

OBJECT_TYPE = "user"
_ROLE_FIELDS = ("role", "tenant_id", "is_superadmin", "is_active")
_PROFILE_FIELDS = ("username", "email", "first_name", "last_name")


def user_state(user: User) -> dict[str, Any]:
    """What the audit log records about a user (never the password hash)."""
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "tenant_id": str(user.tenant_id) if user.tenant_id else None,
        "role": user.role,
        "is_superadmin": user.is_superadmin,
        "is_active": user.is_active,
    }


def _check_actor_may_manage(actor: User | None, target_tenant_id: Any, superadmin: bool) -> None:
    if actor is None or actor.is_superadmin:
        return
    if superadmin or target_tenant_id != actor.tenant_id:
        # The API never lets this through (fields are read-only for tenant admins);
        # this guards other callers of the service.
        raise PermissionDenied("tenant admins manage only their own tenant's users")


def _check_actor_may_set_password(actor: User | None, user: User, roles_before: list[str]) -> None:
    """An admin sets the passwords of the users they manage, with two exceptions that
    would otherwise let one account take over another: one's own password is changed
    only by proving the current one (``me/password``), and a tenant admin's only by
    that admin or a superadmin (a peer could otherwise sign in as them)."""
    if actor is None:
        return
    if actor.pk == user.pk:
        raise ValidationError({"password": [
            "Change your own password at /api/admin/me/password: it asks for the current one."]})
    if not actor.is_superadmin and Role.TENANT_ADMIN.value in {*roles_before, *user.roles}:
        raise exceptions.PermissionDenied(
            "Only a superadmin resets another tenant admin's password.")


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def publish_role_change(user: User) -> None:
    enqueue(
        UserRoleChanged(
            user_id=user.id,
            tenant_id=user.tenant_id,
            roles=user.roles if user.is_active else [],
            is_superadmin=user.is_superadmin,
        ),
        tenant_id=user.tenant_id,
    )


def revoke_sessions(
    user: User, *, reason: str, actor: User | None, request: HttpRequest | None = None
) -> None:
    """End every session of ``user``: tokens minted before now are refused everywhere.

    The version is raised in PostgreSQL (the admin service checks it on every request and
    refresh) and published to Redis before the caller's transaction commits (the streaming
    service checks it there, also for live WebSockets and media tokens). If Redis cannot be
    told, the change fails with 503 and nothing is committed: a demotion that other
    services would not see must not half-happen.
    """
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
        user.refresh_from_db(fields=["session_version"])
        lifetime = max(settings.SESSION_MAX_AGE, settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"])
        try:
            RedisDenylist(get_redis()).revoke_sessions(
                user.id, user.session_version, int(lifetime.total_seconds()) + 60)
        except redis.RedisError as exc:
            log.error("could not publish a session revocation",
                      extra={"user_id": str(user.id), "error": repr(exc)[:200]})
            raise ServiceUnavailable("Session revocation list is unavailable.") from exc
        record(action="sessions.revoke", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor,
               after={"reason": reason, "session_version": user.session_version},
               request=request)


def change_own_password(user: User, *, current_password: str, new_password: str,
                        request: HttpRequest | None = None) -> None:
    """The signed-in user replaces their password, proving the current one first (a
    stolen access token alone cannot take the account over). Every session of theirs
    ends, this one included: the caller hands out a new pair."""
    if not user.check_password(current_password):
        # A failed login in all but name: audited, and counted towards the lockout.
        record_login_failure(user.get_username(), request, user, via="password_change")
        raise ValidationError({"current_password": ["The current password is wrong."]})
    login_guard.succeeded(user.get_username())
    if new_password == current_password:
        raise ValidationError({"new_password": ["Choose a password other than the current one."]})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record(action="update", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=user,
               after={"changed": "password", "by": "self"}, request=request)
        revoke_sessions(user, reason="password_changed", actor=user, request=request)


def spend_refresh_token(token: Any) -> None:
    """Blacklist a refresh token exactly once. SimpleJWT's check-then-blacklist lets two
    concurrent refreshes with one token both succeed; here the unique constraint on the
    blacklist row decides, so the second one gets 401."""
    jti = str(token.payload["jti"])
    with transaction.atomic():
        outstanding, _ = OutstandingToken.objects.get_or_create(
            jti=jti, defaults={
                "token": str(token),
                "expires_at": datetime.fromtimestamp(int(token.payload["exp"]), tz=UTC),
                "user_id": token.payload.get("user_id"),
            })
        try:
            with transaction.atomic():
                BlacklistedToken.objects.create(token=outstanding)
        except IntegrityError:
            raise exceptions.AuthenticationFailed("Refresh token has already been used.") \
                from None


def _normalise_roles(user: User) -> None:
    if user.is_superadmin:
        user.tenant = None
        user.role = ""


def create_user(
    *, data: dict[str, Any], actor: User | None, request: HttpRequest | None = None
) -> User:
    data = dict(data)
    password = data.pop("password", None)
    user = User(**data)
    _normalise_roles(user)
    _check_actor_may_manage(actor, user.tenant_id, user.is_superadmin)
    if password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        record(action="create", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor, after=user_state(user), request=request)
        publish_role_change(user)
    return user


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation as its admin sees it once: the token is never stored or shown again."""

    user: User
    token: str
    expires_at: datetime


class InvalidInvitation(Exception):
    """The token is unknown, expired, already used or replaced by a newer invitation."""


def invitation_token_hash(token: str) -> str:
    """The stored form of a token: 32 random bytes need no slow hash, only no plaintext."""
    return hashlib.sha256(token.encode()).hexdigest()


def _revoke_pending_invitations(user: User) -> int:
    """Mark the user's unused invitation links used; how many there were."""
    return Invitation.objects.filter(user=user, used_at__isnull=True).update(
        used_at=timezone.now())


def _issue_invitation(user: User, actor: User | None) -> IssuedInvitation:
    now = timezone.now()
    _revoke_pending_invitations(user)  # a new link replaces every earlier one of the user
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user, token_hash=invitation_token_hash(token), created_by=actor,
        expires_at=now + settings.INVITATION_LIFETIME)
    return IssuedInvitation(user=user, token=token, expires_at=invitation.expires_at)


def invite_user(
    *, data: dict[str, Any], actor: User | None, request: HttpRequest | None = None
) -> IssuedInvitation:
    """Create a user without a password, inactive until they accept the invitation (and
    set their password through it)."""
    data = {k: v for k, v in data.items() if k not in ("password", "is_active")}
    user = User(**data, is_active=False)
    _normalise_roles(user)
    _check_actor_may_manage(actor, user.tenant_id, user.is_superadmin)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        issued = _issue_invitation(user, actor)
        record(action="user.invite", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor,
               after={**user_state(user), "expires_at": issued.expires_at.isoformat()},
               request=request)
        publish_role_change(user)
    return issued


def reinvite_user(
    user: User, *, actor: User | None, request: HttpRequest | None = None
) -> IssuedInvitation:
    """A new link for an invited user who has not accepted yet; earlier links stop working."""
    if user.is_active or user.has_usable_password():
        raise ValidationError({"non_field_errors": [
            "Only a user who has not accepted an invitation yet can be invited again."]})
    _check_actor_may_manage(actor, user.tenant_id, user.is_superadmin)
    with transaction.atomic():
        issued = _issue_invitation(user, actor)
        record(action="user.invite", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor,
               after={"reissued": True, "expires_at": issued.expires_at.isoformat()},
               request=request)
    return issued


def accept_invitation(*, token: str, password: str,
                      request: HttpRequest | None = None) -> User:
    """Set the invited user's password (the validators apply) and activate them; the
    token works once. A password the validators refuse leaves the invitation usable."""
    with transaction.atomic():
        invitation = (Invitation.objects.select_for_update().select_related("user")
                      .filter(token_hash=invitation_token_hash(token)).first())
        now = timezone.now()
        if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
            raise InvalidInvitation
        user = invitation.user
        if user.is_active or user.has_usable_password():
            raise InvalidInvitation
        _check_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        invitation.used_at = now
        invitation.save(update_fields=["used_at"])
        record(action="user.invitation_accept", object_type=OBJECT_TYPE,
               object_id=str(user.id), tenant_id=user.tenant_id, actor=user,
               after={"invitation_id": str(invitation.id)}, request=request)
        publish_role_change(user)
    return user


def update_user(
    user: User, *, changes: dict[str, Any], actor: User | None,
    request: HttpRequest | None = None,
) -> User:
    changes = dict(changes)
    password = changes.pop("password", None)
    before = user_state(user)
    before_roles = {f: getattr(user, f) for f in _ROLE_FIELDS}
    roles_before = user.roles
    if actor is not None and actor.pk == user.pk and any(
        k in changes and changes[k] != getattr(user, k)
        for k in ("role", "tenant", "is_superadmin", "is_active")
    ):
        raise ValidationError({"role": ["You cannot change your own role or status."]})
    for field, value in changes.items():
        setattr(user, field, value)
    _normalise_roles(user)
    _check_actor_may_manage(actor, user.tenant_id, user.is_superadmin)
    if password:
        _check_actor_may_set_password(actor, user, roles_before)
        _check_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        after = user_state(user)
        if password:
            after["password_changed"] = True
        record(action="update", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor, before=before, after=after,
               request=request)
        roles_changed = any(getattr(user, f) != v for f, v in before_roles.items())
        if roles_changed:
            publish_role_change(user)
        if roles_changed or password:
            revoke_sessions(user, reason="password_changed" if password and not roles_changed
                            else "role_changed", actor=actor, request=request)
    return user


def deactivate_user(user: User, *, actor: User | None, request: HttpRequest | None = None) -> None:
    """Users are never deleted (the audit log keeps pointing at them); they lose access."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"non_field_errors": ["You cannot deactivate yourself."]})
    _check_actor_may_manage(actor, user.tenant_id, user.is_superadmin)
    before = user_state(user)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        # An invitee deactivated before accepting: the link must not bring them back.
        revoked = _revoke_pending_invitations(user)
        after = user_state(user) | ({"invitations_revoked": revoked} if revoked else {})
        record(action="delete", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor, before=before, after=after,
               request=request)
        if before["is_active"]:
            publish_role_change(user)
            revoke_sessions(user, reason="deactivated", actor=actor, request=request)


def record_login_success(user: User, request: HttpRequest | None, *, via: str = "api") -> None:
    login_guard.succeeded(user.get_username())
    record(action="login.success", object_type=OBJECT_TYPE, object_id=str(user.id),
           tenant_id=user.tenant_id, actor=user, after={"via": via}, request=request)


def record_login_failure(username: str, request: HttpRequest | None,
                         user: User | None = None, *, via: str = "api",
                         reason: str = "bad_credentials") -> None:
    """Audit a failed login; a wrong password also counts towards the account's lockout,
    and a lockout it starts is audited too."""
    username = username[:150]
    target = {"object_id": str(user.id) if user else None,
              "tenant_id": user.tenant_id if user else None}
    record(action="login.failure", object_type=OBJECT_TYPE, **target, actor=None,
           username=username, after={"via": via, "reason": reason}, request=request)
    if reason != "bad_credentials":
        return
    lockout = login_guard.failed(username)
    if lockout is not None:
        record(action="login.locked", object_type=OBJECT_TYPE, **target, actor=None,
               username=username,
               after={"via": via, "locked_seconds": lockout.seconds,
                      "failures": lockout.failures},
               request=request)


def record_login_refused(username: str, request: HttpRequest | None, refusal: LoginRefused,
                         *, via: str = "api") -> None:
    record(action="login.refused", object_type=OBJECT_TYPE, object_id=None, tenant_id=None,
           actor=None, username=username[:150],
           after={"via": via, "reason": refusal.reason, "retry_after": refusal.retry_after},
           request=request)


def record_logout(user: User, request: HttpRequest | None) -> None:
    record(action="logout", object_type=OBJECT_TYPE, object_id=str(user.id),
           tenant_id=user.tenant_id, actor=user, request=request)
