from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_staff_flags_follow_superadmin")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="session_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
