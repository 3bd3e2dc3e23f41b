"""What authenticating a request needs to know about its user and tenant, kept in Redis.

Every API request used to read its user row from PostgreSQL (active, role, tenant, session
version) after asking Redis about the token. The same facts now live in Redis next to the
denylist, so the token's revocation and its user's state come back in one ``MGET``:

* ``gtv:auth:user:<id>``: ``{"u": username, "a": is_active, "s": is_superadmin,
  "t": tenant_id, "r": role, "v": session_version}``;
* ``gtv:auth:tenant:<id>``: ``{"a": is_active}``.

PostgreSQL stays the truth. A missing entry is read from the database and written back
with ``SET NX`` (a reader never overwrites what a writer put there); every entry lives at
most ``STATE_TTL_SECONDS``, the bound on staleness for a change made behind the ORM's back
(raw SQL, a data migration). Every ORM change refreshes the entry:

* ``save()`` and ``delete()`` of a user or tenant, through the ``post_save`` and
  ``post_delete`` signals (the Django admin, services, shell, fixtures);
* ``QuerySet.update()`` and ``bulk_update()`` on users and tenants — which send no
  signals — through :class:`AuthStateQuerySet`, the default managers' queryset (admin bulk
  actions, ``revoke_sessions``).

A change drops the entry at once (the rest of its transaction already reads the database)
and, when the transaction commits, writes the committed state over whatever a concurrent
reader may have put back in between. If Redis cannot be told, the error is logged and the
entry expires within the TTL; a change that must end sessions at once also raises the
session version (``accounts.services.revoke_sessions``), which fails whole without Redis.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from config.redis import get_redis
from django.db import models, transaction

if TYPE_CHECKING:
    from accounts.models import User

log = logging.getLogger(__name__)

STATE_PREFIX = "gtv:auth:"
USER_PREFIX = f"{STATE_PREFIX}user:"
TENANT_PREFIX = f"{STATE_PREFIX}tenant:"
STATE_TTL_SECONDS = 30


def user_key(user_id: uuid.UUID | str) -> str:
    return f"{USER_PREFIX}{user_id}"


def tenant_key(tenant_id: uuid.UUID | str) -> str:
    return f"{TENANT_PREFIX}{tenant_id}"


@dataclass(frozen=True)
class UserState:
    """The user row as authentication reads it."""

    user_id: uuid.UUID
    username: str
    is_active: bool
    is_superadmin: bool
    tenant_id: uuid.UUID | None
    role: str
    session_version: int

    @classmethod
    def of(cls, user: User) -> UserState:
        return cls(user_id=user.pk, username=user.get_username(), is_active=user.is_active,
                   is_superadmin=user.is_superadmin, tenant_id=user.tenant_id,
                   role=user.role, session_version=user.session_version)

    def encode(self) -> str:
        return json.dumps({"u": self.username, "a": self.is_active, "s": self.is_superadmin,
                           "t": str(self.tenant_id) if self.tenant_id else None,
                           "r": self.role, "v": self.session_version},
                          separators=(",", ":"))

    @classmethod
    def decode(cls, user_id: uuid.UUID, raw: bytes | None) -> UserState | None:
        """None for a missing or unreadable entry (read from the database then)."""
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return cls(user_id=user_id, username=str(data["u"]), is_active=data["a"] is True,
                       is_superadmin=data["s"] is True,
                       tenant_id=uuid.UUID(data["t"]) if data["t"] else None,
                       role=str(data["r"]), session_version=int(data["v"]))
        except (ValueError, KeyError, TypeError):
            return None


def encode_tenant(is_active: bool) -> str:
    return json.dumps({"a": is_active})


def decode_tenant(raw: bytes | None) -> bool | None:
    """The tenant's ``is_active``; None for a missing or unreadable entry."""
    if raw is None:
        return None
    try:
        return json.loads(raw)["a"] is True  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError):
        return None


def remember(user: User) -> None:
    """Write back what was just read from the database, unless a writer got there first.
    Best effort: the next request reads the database again."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.set(user_key(user.pk), UserState.of(user).encode(), nx=True, ex=STATE_TTL_SECONDS)
        if user.tenant is not None:
            pipe.set(tenant_key(user.tenant.pk), encode_tenant(user.tenant.is_active), nx=True,
                     ex=STATE_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not cache a user's auth state", extra={"error": repr(exc)[:200]})


def _forget(keys: list[str]) -> None:
    try:
        get_redis().delete(*keys)
    except redis.RedisError as exc:
        log.error("could not drop cached auth state; it expires within %ss",
                  STATE_TTL_SECONDS, extra={"error": repr(exc)[:200]})


def _write_committed_users(user_ids: list[Any]) -> None:
    from accounts.models import User

    found = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    try:
        pipe = get_redis().pipeline(transaction=False)
        for user_id in user_ids:
            user = found.get(user_id)
            if user is None:
                pipe.delete(user_key(user_id))
            else:
                pipe.set(user_key(user_id), UserState.of(user).encode(), ex=STATE_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.error("could not refresh cached auth state; it expires within %ss",
                  STATE_TTL_SECONDS, extra={"error": repr(exc)[:200]})


def _write_committed_tenants(tenant_ids: list[Any]) -> None:
    from tenancy.models import Tenant

    found = dict(Tenant.objects.filter(pk__in=tenant_ids).values_list("pk", "is_active"))
    try:
        pipe = get_redis().pipeline(transaction=False)
        for tenant_id in tenant_ids:
            if tenant_id in found:
                pipe.set(tenant_key(tenant_id), encode_tenant(found[tenant_id]),
                         ex=STATE_TTL_SECONDS)
            else:
                pipe.delete(tenant_key(tenant_id))
        pipe.execute()
    except redis.RedisError as exc:
        log.error("could not refresh cached auth state; it expires within %ss",
                  STATE_TTL_SECONDS, extra={"error": repr(exc)[:200]})


def users_changed(user_ids: Iterable[Any], *, using: str = "default") -> None:
    """Users' rows changed (or are changing in the current transaction)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return
    _forget([user_key(i) for i in ids])
    transaction.on_commit(lambda: _write_committed_users(ids), using=using)


def tenants_changed(tenant_ids: Iterable[Any], *, using: str = "default") -> None:
    """Tenants' rows changed (or are changing in the current transaction)."""
    ids = list(dict.fromkeys(tenant_ids))
    if not ids:
        return
    _forget([tenant_key(i) for i in ids])
    transaction.on_commit(lambda: _write_committed_tenants(ids), using=using)


class AuthStateQuerySet(models.QuerySet[Any]):
    """A queryset whose bulk writes refresh the cached auth state of the rows they touch
    (``update()`` and ``bulk_update()`` send no model signals)."""

    def _changed(self, ids: list[Any]) -> None:
        if self.model._meta.model_name == "tenant":
            tenants_changed(ids, using=self.db)
        else:
            users_changed(ids, using=self.db)

    def update(self, **kwargs: Any) -> int:
        with transaction.atomic(using=self.db):
            ids = list(self.values_list("pk", flat=True))
            rows = super().update(**kwargs)
            self._changed(ids)
        return rows

    def bulk_update(self, objs: Iterable[Any], fields: Any, batch_size: int | None = None) -> int:
        objs = list(objs)
        with transaction.atomic(using=self.db):
            rows = super().bulk_update(objs, fields, batch_size=batch_size)
            self._changed([o.pk for o in objs])
        return rows


def on_user_saved_or_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    users_changed([instance.pk], using=kwargs.get("using") or "default")


def on_tenant_saved_or_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    tenants_changed([instance.pk], using=kwargs.get("using") or "default")
