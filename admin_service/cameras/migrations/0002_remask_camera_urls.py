"""Re-mask the stored masked camera URLs with the mask that also covers credentials in
the URL's path and query (``rtsp://h/user=admin&password=x``): rows saved before it show
such passwords in clear. Masking is idempotent, so the masked copy itself is the input
(no decryption key needed) and running this again changes nothing."""

from django.db import migrations

from shared_kernel.masking import mask_url

MAX_LENGTH = 2100


def remask(apps, schema_editor):
    Camera = apps.get_model("cameras", "Camera")
    for camera in Camera._base_manager.only("pk", "rtsp_url_masked").iterator():
        masked = mask_url(camera.rtsp_url_masked)[:MAX_LENGTH]
        if masked != camera.rtsp_url_masked:
            Camera._base_manager.filter(pk=camera.pk).update(rtsp_url_masked=masked)


class Migration(migrations.Migration):

    dependencies = [
        ("cameras", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(remask, migrations.RunPython.noop),
    ]
