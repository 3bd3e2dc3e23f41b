import uuid

from django.db import migrations, models

SCHEMAS = ("admin", "cidades", "streaming", "ai")


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        # Every other app's migrations depend on this one, so the schemas exist first.
        migrations.RunSQL(
            sql=[f"CREATE SCHEMA IF NOT EXISTS {name}" for name in SCHEMAS],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.CreateModel(
            name="Tenant",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                ("slug", models.SlugField(max_length=80, unique=True)),
                ("timezone", models.CharField(default="America/Sao_Paulo", max_length=64)),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "db_table": 'cidades"."tenants',
                "ordering": ["name"],
                "verbose_name": "prefeitura",
                "verbose_name_plural": "prefeituras",
            },
        ),
    ]
