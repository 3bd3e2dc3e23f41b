"""The LGPD audit log: who did what to which object, when, from where (append-only).

Rows are never updated or deleted. The model refuses it; the service's database role has
no UPDATE (but of actor_id), DELETE or TRUNCATE on the table (deploy/postgres/roles.sql);
and PostgreSQL triggers refuse it for any client, the table's owner and raw SQL included
(migrations 0001: UPDATE/DELETE, 0002: TRUNCATE).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(RuntimeError):
    """Audit entries can only be inserted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are append-only")


class AuditEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The user who acted; the username snapshot survives the user's deletion.",
    )
    username = models.CharField(max_length=150, blank=True, default="")
    tenant_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=128, null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    event_id = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        help_text="Id of the domain event this entry records (a redelivery is not audited twice).",
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = 'admin"."audit_entries'
        ordering = ("-occurred_at", "-id")
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["tenant_id", "-occurred_at"], name="audit_tenant_time_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time_idx"),
            models.Index(fields=["action", "-occurred_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        who = self.username or "system"
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.object_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are append-only")
