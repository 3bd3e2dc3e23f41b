"""Django-admin flags follow ``is_superadmin``: clear them on users demoted before the
model enforced it (security review, issue 9 item 1)."""

from django.db import migrations


def derive_flags(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(is_superadmin=False).exclude(is_staff=False, is_superuser=False).update(
        is_staff=False, is_superuser=False
    )
    User.objects.filter(is_superadmin=True).exclude(is_staff=True, is_superuser=True).update(
        is_staff=True, is_superuser=True
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(derive_flags, migrations.RunPython.noop)]
