"""Users: a per-tenant role (viewer, operator, tenant_admin) or the global superadmin."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from accounts.auth_state import AuthStateQuerySet
from shared_kernel.auth import Role


class TenantRole(models.TextChoices):
    VIEWER = Role.VIEWER.value, "Viewer"
    OPERATOR = Role.OPERATOR.value, "Operator"
    TENANT_ADMIN = Role.TENANT_ADMIN.value, "Tenant admin"


class GTUserManager(UserManager["User"]):
    def get_queryset(self) -> AuthStateQuerySet:
        # Bulk updates refresh the cached auth state of the users they touch.
        return AuthStateQuerySet(self.model, using=self._db)

    def create_superuser(  # type: ignore[override]
        self, username: str, email: str | None = None, password: str | None = None,
        **extra: Any,
    ) -> User:
        extra.setdefault("is_superadmin", True)
        extra.setdefault("role", "")
        extra.setdefault("tenant", None)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person. Superadmins belong to no tenant; everyone else to exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=TenantRole.choices, blank=True, default="")
    is_superadmin = models.BooleanField(
        default=False, help_text="Global role: manages every prefeitura. Has no tenant."
    )
    # Raised when the user's password, role or status changes: tokens minted under an
    # older version (claim ``sv``) are refused by both services.
    session_version = models.PositiveIntegerField(default=0, editable=False)

    objects: ClassVar[GTUserManager] = GTUserManager()  # type: ignore[assignment]

    class Meta:
        db_table = 'admin"."users'
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                name="user_superadmin_xor_tenant_role",
                violation_error_message=(
                    "A superadmin has no tenant and no tenant role; every other user needs both."
                ),
                condition=(
                    Q(is_superadmin=True, tenant__isnull=True, role="")
                    | Q(
                        is_superadmin=False,
                        tenant__isnull=False,
                        role__in=[c.value for c in TenantRole],
                    )
                ),
            )
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The Django admin is the superadmins' tool: they get it, nobody else does. Both
        # flags follow is_superadmin on every save, so a demoted superadmin loses them.
        self.is_staff = self.is_superuser = bool(self.is_superadmin)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "is_superadmin" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        elif update_fields is None and not args and not self._state.adding:
            # session_version only ever rises, in one UPDATE (accounts.services); a full
            # save of an instance loaded earlier must not lower it again.
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "session_version"
            ]
        return super().save(*args, **kwargs)

    @property
    def roles(self) -> list[str]:
        """The roles as the JWT carries them."""
        if self.is_superadmin:
            return [Role.SUPERADMIN.value]
        return [self.role] if self.role else []

    def has_role(self, role: Role) -> bool:
        if self.is_superadmin:
            return True
        rank = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.TENANT_ADMIN: 3, Role.SUPERADMIN: 4}
        return bool(self.role) and rank[Role(self.role)] >= rank[role]


class Invitation(models.Model):
    """A one-time link for a user created without a password: whoever holds the token
    sets the password (and activates the user) once, before ``expires_at``. Only the
    token's SHA-256 is stored; the token itself is shown once to the inviting admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # Set when accepted, or when a newer invitation of the same user replaced this one.
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = 'admin"."invitations'
        ordering = ["-created_at"]
