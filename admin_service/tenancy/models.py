"""Tenants: one row per city hall (prefeitura). Every tenant-owned row points here."""

from __future__ import annotations

import uuid

from accounts.auth_state import AuthStateQuerySet
from django.db import models


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="America/Sao_Paulo")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Bulk updates refresh the cached tenant state that authentication reads.
    objects = AuthStateQuerySet.as_manager()

    class Meta:
        db_table = 'cidades"."tenants'
        ordering = ["name"]
        verbose_name = "prefeitura"
        verbose_name_plural = "prefeituras"

    def __str__(self) -> str:
        return self.name
