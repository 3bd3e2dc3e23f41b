"""The Django admin's login page goes through the same brute-force guard and audit trail
as the API's token endpoint: per-address rate, per-account lockout, every success and
failure audited (``via: admin_site``)."""

from __future__ import annotations

from typing import Any

from config.proxies import client_ip
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import services
from accounts.login_guard import LoginRefused, login_guard
from accounts.models import User

VIA = "admin_site"


class GuardedAdminLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")[:150]
        if username and self.cleaned_data.get("password"):
            try:
                login_guard.check(username, client_ip(self.request) if self.request else None)
            except LoginRefused as refusal:
                services.record_login_refused(username, self.request, refusal, via=VIA)
                minutes = max(1, -(-refusal.retry_after // 60))
                raise ValidationError(
                    "Too many failed logins; try again in %(minutes)d minute(s).",
                    code="too_many_attempts", params={"minutes": minutes},
                ) from None
        try:
            return super().clean()
        except ValidationError:
            if username:
                known = self.user_cache or User.objects.filter(username=username).first()
                services.record_login_failure(
                    username, self.request, known, via=VIA,
                    reason="bad_credentials" if self.user_cache is None else "not_allowed")
            raise


@receiver(user_logged_in, dispatch_uid="gtv-admin-site-login-audit")
def _audit_admin_site_login(sender: Any, request: HttpRequest | None, user: Any,
                            **kwargs: Any) -> None:
    # Django's login() runs only for the admin site; the API issues tokens instead.
    if isinstance(user, User) and request is not None:
        services.record_login_success(user, request, via=VIA)
