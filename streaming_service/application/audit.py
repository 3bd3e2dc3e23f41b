"""The audit trail of what users do and see in the streaming service (LGPD).

The admin service owns the audit log; this service reports each audited action as a
``UserActivityRecorded`` event through its outbox. A change (a watchlist edit, a stream
stopped) records its event inside the change's own transaction (:meth:`AuditTrail.add`),
so both commit or neither does. An access (a plate search, a snapshot, a live view) is
recorded before the data is handed out (:meth:`AuditTrail.record`); when the record
cannot be written the access is refused (:class:`AuditUnavailable`, 503).

Views that players and walls repeat every few seconds (live playlists, thumbnails) are
recorded once per user, object and window (:meth:`AuditTrail.record_view`), so the log
says who watched what and when without a row per playlist reload.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.auth import TokenClaims
from shared_kernel.events import UserActivityRecorded
from streaming_service.domain.errors import AuditUnavailable
from streaming_service.domain.ports import Outbox

T = TypeVar("T")

log = logging.getLogger(__name__)

USER_AGENT_MAX = 256


@dataclass(frozen=True)
class Actor:
    """Who acts: the verified token's user, and where the request came from."""

    user_id: uuid.UUID
    username: str = ""
    session_version: int = 0
    ip: str | None = None
    user_agent: str = ""
    #: The login session (the JWT's ``sid``) the request came with, if it named one.
    session_id: str | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        """A process of the service itself (no user): audited with no user id and
        ``name`` as the username (e.g. ``system:retention``)."""
        return cls(user_id=uuid.UUID(int=0), username=name)

    @property
    def is_system(self) -> bool:
        return self.user_id.int == 0

    @classmethod
    def from_claims(cls, claims: TokenClaims, *, ip: str | None = None,
                    user_agent: str = "") -> Actor:
        return cls(user_id=claims.user_id, username=claims.username,
                   session_version=claims.session_version, ip=ip,
                   user_agent=user_agent[:USER_AGENT_MAX], session_id=claims.session_id)


class ViewWindow(Protocol):
    """Remembers, for a while, that something was already audited."""

    async def first_in(self, key: str, seconds: float) -> bool:
        """True the first time ``key`` is seen in ``seconds``; False after that."""
        ...

    async def forget(self, key: str) -> None: ...


class AuditTrail:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        window: ViewWindow | None = None,
        view_window_seconds: float = 300.0,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._window = window
        self._view_window = view_window_seconds

    async def add(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        *,
        object_type: str,
        object_id: uuid.UUID | str | None,
        tenant_id: uuid.UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Record ``action`` in the caller's transaction (``session`` must be in one)."""
        await self._outbox.add(
            session,
            UserActivityRecorded(
                tenant_id=tenant_id, user_id=None if actor.is_system else actor.user_id,
                username=actor.username[:150],
                action=action, object_type=object_type,
                object_id=str(object_id) if object_id is not None else None,
                before=before, after=after, ip=actor.ip, user_agent=actor.user_agent,
            ),
            tenant_id=tenant_id,
        )

    async def record(
        self,
        actor: Actor,
        action: str,
        *,
        object_type: str,
        object_id: uuid.UUID | str | None,
        tenant_id: uuid.UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Record ``action`` in a transaction of its own; raise :class:`AuditUnavailable`
        if it cannot be written, so the caller hands nothing out."""
        try:
            async with self._sessions() as session, session.begin():
                await self.add(session, actor, action, object_type=object_type,
                               object_id=object_id, tenant_id=tenant_id, before=before,
                               after=after)
        except Exception as exc:
            log.error("could not write an audit record",
                      extra={"action": action, "error": repr(exc)[:300]})
            raise AuditUnavailable("the access could not be audited; try again shortly",
                                   {"action": action}) from exc

    async def audited_read(
        self,
        actor: Actor,
        action: str,
        read: Callable[[AsyncSession], Awaitable[T]],
        *,
        object_type: str,
        object_id: uuid.UUID | str | None,
        tenant_id: uuid.UUID | None,
        after: dict[str, Any] | None = None,
    ) -> T:
        """``read`` in the transaction that records ``action``: one transaction where
        :meth:`record` and a read of its own took two. Nothing ``read`` found is handed
        out unless the record commits (:class:`AuditUnavailable` otherwise); an error of
        ``read`` itself rolls the record back with it and propagates as it is."""
        async with self._sessions() as session:
            try:
                await session.begin()
                await self.add(session, actor, action, object_type=object_type,
                               object_id=object_id, tenant_id=tenant_id, after=after)
            except Exception as exc:
                raise self._unavailable(action, exc) from exc
            result = await read(session)
            try:
                await session.commit()
            except Exception as exc:
                raise self._unavailable(action, exc) from exc
            return result

    @staticmethod
    def _unavailable(action: str, exc: Exception) -> AuditUnavailable:
        log.error("could not write an audit record",
                  extra={"action": action, "error": repr(exc)[:300]})
        return AuditUnavailable("the access could not be audited; try again shortly",
                                {"action": action})

    async def record_view(
        self,
        actor: Actor,
        action: str,
        *,
        object_type: str,
        object_id: uuid.UUID | str,
        tenant_id: uuid.UUID | None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Record a repeated view once per user, action and object in the view window."""
        key = f"{actor.user_id}:{action}:{object_id}"
        first = True
        if self._window is not None and self._view_window > 0:
            try:
                first = await self._window.first_in(key, self._view_window)
            except Exception as exc:  # the window only saves rows: audit when unsure
                log.warning("audit view window unavailable", extra={"error": repr(exc)[:200]})
        if not first:
            return
        try:
            await self.record(actor, action, object_type=object_type, object_id=object_id,
                              tenant_id=tenant_id, after=after)
        except AuditUnavailable:
            if self._window is not None:
                try:
                    await self._window.forget(key)
                except Exception as exc:
                    log.warning("could not reset the audit view window",
                                extra={"error": repr(exc)[:200]})
            raise
