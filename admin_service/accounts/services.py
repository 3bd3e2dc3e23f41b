"""Use cases on users and sessions: each change is saved, audited and (when other
services care) published through the outbox in one transaction."""

from __future__ import annotations

from typing import Any

from audit.services import record
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from outbox.services import enqueue

from accounts.models import User
from shared_kernel.events import UserRoleChanged

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


def update_user(
    user: User, *, changes: dict[str, Any], actor: User | None,
    request: HttpRequest | None = None,
) -> User:
    changes = dict(changes)
    password = changes.pop("password", None)
    before = user_state(user)
    before_roles = {f: getattr(user, f) for f in _ROLE_FIELDS}
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
        if any(getattr(user, f) != v for f, v in before_roles.items()):
            publish_role_change(user)
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
        record(action="delete", object_type=OBJECT_TYPE, object_id=str(user.id),
               tenant_id=user.tenant_id, actor=actor, before=before, after=user_state(user),
               request=request)
        if before["is_active"]:
            publish_role_change(user)


def record_login_success(user: User, request: HttpRequest | None) -> None:
    record(action="login.success", object_type=OBJECT_TYPE, object_id=str(user.id),
           tenant_id=user.tenant_id, actor=user, request=request)


def record_login_failure(username: str, request: HttpRequest | None,
                         user: User | None = None) -> None:
    record(action="login.failure", object_type=OBJECT_TYPE,
           object_id=str(user.id) if user else None,
           tenant_id=user.tenant_id if user else None,
           actor=None, username=username[:150], request=request)


def record_logout(user: User, request: HttpRequest | None) -> None:
    record(action="logout", object_type=OBJECT_TYPE, object_id=str(user.id),
           tenant_id=user.tenant_id, actor=user, request=request)
