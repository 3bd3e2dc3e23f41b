from __future__ import annotations

from typing import Any

from audit.services import record
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts.models import User

#: Where anyone, superadmins included, changes their own password: the dashboard's page,
#: which proves the current password (``me/password``), is audited and ends the user's
#: other sessions. The admin's forms would set it without the current one, or without
#: ending the sessions.
OWN_PASSWORD_PAGE = "/account"  # noqa: S105 (a page, not a password)


def _own_password_elsewhere(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    return HttpResponseRedirect(OWN_PASSWORD_PAGE)


admin.site.password_change = _own_password_elsewhere  # type: ignore[method-assign]

# Not managed here: roles are GT-Vision's own (``User.role``), not Django groups, and the
# refresh-token ledger is the revocation record: deleting a row would revive a token.
for model in (Group, BlacklistedToken, OutstandingToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "tenant", "role", "is_superadmin", "is_active",
                    "last_login"]
    list_filter = ["is_superadmin", "role", "is_active", "tenant"]
    search_fields = ["username", "email", "first_name", "last_name", "tenant__name"]
    list_select_related = ["tenant"]
    ordering = ["username"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("tenant", "role", "is_superadmin", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "password1", "password2", "tenant", "role",
                           "is_superadmin")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        """Saves go through the same audit + event path as the API."""
        before = services.user_state(User.objects.get(pk=obj.pk)) if change else None
        before_roles = (
            User.objects.filter(pk=obj.pk).values_list(
                "role", "tenant_id", "is_superadmin", "is_active"
            ).first() if change else None
        )
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            after = services.user_state(obj)
            record(action="update" if change else "create", object_type=services.OBJECT_TYPE,
                   object_id=str(obj.pk), tenant_id=obj.tenant_id, actor=request.user,
                   before=before, after=after, request=request)
            roles_now = (obj.role, obj.tenant_id, obj.is_superadmin, obj.is_active)
            if before_roles != roles_now:
                services.publish_role_change(obj)
                if change:
                    services.revoke_sessions(obj, reason="role_changed", actor=request.user,
                                             request=request)

    def user_change_password(self, request: HttpRequest, id: str,
                             form_url: str = "") -> HttpResponse:
        """The admin's password form, audited, ending the user's sessions everywhere; not
        for one's own password (``OWN_PASSWORD_PAGE``)."""
        if str(request.user.pk) == str(id):
            return HttpResponseRedirect(OWN_PASSWORD_PAGE)
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                record(action="update", object_type=services.OBJECT_TYPE, object_id=str(user.pk),
                       tenant_id=user.tenant_id, actor=request.user,
                       after={"password_changed": True}, request=request)
                services.revoke_sessions(user, reason="password_changed", actor=request.user,
                                         request=request)
        return response

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead; the audit log keeps referring to users
