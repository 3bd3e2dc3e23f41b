from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from django.contrib import admin

        from accounts import admin_login, schema  # noqa: F401  (auth scheme; login signals)

        admin.site.login_form = admin_login.GuardedAdminLoginForm
        _connect_auth_state_signals()


def _connect_auth_state_signals() -> None:
    """Every save or delete of a user or tenant refreshes the auth state authentication
    reads from Redis (accounts.auth_state)."""
    from django.db.models.signals import post_delete, post_save
    from tenancy.models import Tenant

    from accounts import auth_state
    from accounts.models import User

    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(auth_state.on_user_saved_or_deleted, sender=User,
                       dispatch_uid=f"gtv-auth-state-user-{name}")
        signal.connect(auth_state.on_tenant_saved_or_deleted, sender=Tenant,
                       dispatch_uid=f"gtv-auth-state-tenant-{name}")
