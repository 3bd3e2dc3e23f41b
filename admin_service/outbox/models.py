"""The transactional outbox: domain events written in the same transaction as the change.

A relay process (``run_outbox_relay``) publishes unpublished rows to RabbitMQ with
publisher confirms and then sets ``published_at``; nothing is lost while the broker is
down, and delivery is at-least-once (consumers dedupe by ``event_id``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxEvent(models.Model):
    event_id = models.UUIDField(primary_key=True, editable=False)
    event_type = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField()
    tenant_id = models.UUIDField(null=True, blank=True)
    envelope = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = 'admin"."outbox_events'
        ordering = ("created_at",)
        verbose_name = "outbox event"
        verbose_name_plural = "outbox events"
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_unpublished_idx",
                condition=Q(published_at__isnull=True),
            ),
            models.Index(fields=["event_type", "-created_at"], name="outbox_type_time_idx"),
        ]

    def __str__(self) -> str:
        state = "published" if self.published_at else "pending"
        return f"{self.event_type} v{self.version} {self.event_id} ({state})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None
