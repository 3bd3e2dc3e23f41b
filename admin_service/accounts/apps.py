from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from django.contrib import admin

        from accounts import admin_login, schema  # noqa: F401  (auth scheme; login signals)

        admin.site.login_form = admin_login.GuardedAdminLoginForm
