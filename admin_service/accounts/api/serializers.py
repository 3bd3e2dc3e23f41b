from __future__ import annotations

from typing import Any

from config.rest import StrictCharField, StrictModelSerializer, StrictSerializer
from rest_framework import serializers
from tenancy.models import Tenant

from accounts.models import TenantRole, User


class LoginSerializer(StrictSerializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True,
                               one_line=False)


class RefreshSerializer(StrictSerializer):
    refresh = StrictCharField(max_length=4096)


class LogoutSerializer(StrictSerializer):
    refresh = StrictCharField(max_length=4096, required=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class UserSerializer(StrictModelSerializer):
    password = StrictCharField(
        write_only=True, required=False, max_length=128, trim_whitespace=False, one_line=False,
        style={"input_type": "password"},
        help_text="Write-only; checked against the password validators.",
    )
    tenant = serializers.PrimaryKeyRelatedField(
        queryset=Tenant.objects.all(), required=False, allow_null=True
    )
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    password_required = True

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "password", "tenant",
            "role", "is_superadmin", "is_active", "roles", "date_joined", "last_login",
        ]
        read_only_fields = ["id", "date_joined", "last_login"]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        actor = getattr(request, "user", None)
        if isinstance(actor, User) and not actor.is_superadmin:
            # Tenant admins work inside their own tenant and cannot mint superadmins.
            fields["tenant"] = serializers.PrimaryKeyRelatedField(read_only=True)
            fields["is_superadmin"] = serializers.BooleanField(read_only=True)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: User | None = self.instance
        creating = instance is None
        if creating and self.password_required and not attrs.get("password"):
            raise serializers.ValidationError({"password": ["This field is required."]})
        superadmin = attrs.get("is_superadmin", instance.is_superadmin if instance else False)
        if superadmin:
            if attrs.get("tenant") is not None:
                raise serializers.ValidationError(
                    {"tenant": ["A superadmin belongs to no tenant."]}
                )
            if attrs.get("role"):
                raise serializers.ValidationError({"role": ["A superadmin has no tenant role."]})
            return attrs
        actor = self.context["request"].user
        tenant_given = "tenant" in attrs
        tenant = attrs.get("tenant") if tenant_given else (
            instance.tenant if instance else (None if actor.is_superadmin else actor.tenant)
        )
        if tenant is None:
            raise serializers.ValidationError({"tenant": ["A tenant is required."]})
        role = attrs.get("role", instance.role if instance else "")
        if role not in TenantRole.values:
            raise serializers.ValidationError({"role": ["A tenant role is required."]})
        return attrs


class InviteSerializer(UserSerializer):
    """A user to invite: everything but the password (the invitee sets it) and the status
    (inactive until they accept)."""

    password_required = False

    class Meta(UserSerializer.Meta):
        fields = [
            "id", "username", "email", "first_name", "last_name", "tenant", "role",
            "is_superadmin", "is_active", "roles", "date_joined", "last_login",
        ]
        read_only_fields = ["id", "is_active", "date_joined", "last_login"]


class InvitationSerializer(serializers.Serializer):
    """The one time the token is shown: the admin hands the link to the invitee."""

    user = UserSerializer(read_only=True)
    token = serializers.CharField(read_only=True)
    accept_path = serializers.CharField(
        read_only=True, help_text="The dashboard's page that accepts it (the token in the "
                                  "fragment, never sent to a server by a browser)")
    expires_at = serializers.DateTimeField(read_only=True)


class AcceptInvitationSerializer(StrictSerializer):
    token = StrictCharField(max_length=128)
    password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True,
                               one_line=False)


class PasswordChangeSerializer(StrictSerializer):
    current_password = StrictCharField(max_length=128, trim_whitespace=False,
                                       write_only=True, one_line=False)
    new_password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True,
                                   one_line=False)


class MeSerializer(serializers.ModelSerializer):
    # Not the model's EmailField: read-only, it would be documented as an address only,
    # while a user created without one answers "".
    email = serializers.CharField(read_only=True,
                                  help_text="The user's e-mail address; empty when none.")
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True, default=None)
    tenant_timezone = serializers.CharField(
        source="tenant.timezone", read_only=True, default=None,
        help_text="IANA time zone the tenant's operators see times in.",
    )

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "tenant", "tenant_name",
            "tenant_timezone", "role", "roles", "is_superadmin", "last_login",
        ]
        read_only_fields = fields
