"""Seed a demo prefeitura: one user per role (credentials printed) and some cameras.

Idempotent: running it again keeps existing rows (cameras are matched by name).
Every row is created through the services, so audit entries and events exist too.
"""

from __future__ import annotations

import secrets
from typing import Any

from accounts import services as account_services
from accounts.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tenancy import services as tenant_services
from tenancy.models import Tenant

from cameras import services as camera_services
from cameras.models import Camera, Location, RecordingMode, Zone


class Command(BaseCommand):
    help = "Create a demo tenant, users of each role and cameras."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant-slug", default="demo")
        parser.add_argument("--tenant-name", default="Prefeitura Demo")
        parser.add_argument("--camera-url", action="append", default=[],
                            help="RTSP URL of a camera (repeat for several).")
        parser.add_argument("--cameras", type=int, default=None,
                            help="How many cameras (defaults to the number of URLs, or 2).")
        parser.add_argument("--lpr-camera", type=int, default=1,
                            help="1-based index of the camera with LPR enabled (0: none).")
        parser.add_argument("--password", default="",
                            help="Password for the demo users (generated when empty).")

    def handle(self, *args: Any, **options: Any) -> None:
        urls: list[str] = options["camera_url"] or ["rtsp://127.0.0.1:8554/cam1"]
        count: int = options["cameras"] or max(len(options["camera_url"]), 2)
        password: str = options["password"] or secrets.token_urlsafe(12)
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=options["tenant_slug"]).first()
            if tenant is None:
                tenant = tenant_services.create_tenant(
                    data={"name": options["tenant_name"], "slug": options["tenant_slug"]},
                    actor=None,
                )
            self.stdout.write(f"tenant: {tenant.name} ({tenant.id})")
            for role in ("viewer", "operator", "tenant_admin"):
                username = f"{tenant.slug}-{role.replace('_', '-')}"
                user = User.objects.filter(username=username).first()
                if user is None:
                    account_services.create_user(
                        data={"username": username, "password": password, "tenant": tenant,
                              "role": role},
                        actor=None,
                    )
                else:
                    account_services.update_user(user, changes={"password": password},
                                                 actor=None)
                self.stdout.write(f"user: {username} / {password} ({role})")
            location = Location.objects.filter(tenant=tenant, name="Centro").first() or (
                camera_services.create_place(
                    Location, tenant=tenant, actor=None,
                    data={"name": "Centro", "address": "Praça da Sé",
                          "latitude": -23.5503, "longitude": -46.6339},
                )
            )
            zone = Zone.objects.filter(tenant=tenant, name="Vias principais").first() or (
                camera_services.create_place(
                    Zone, tenant=tenant, actor=None,
                    data={"name": "Vias principais", "location": location},
                )
            )
            for index in range(1, count + 1):
                name = f"Camera {index:02d}"
                lpr = index == options["lpr_camera"]
                camera = Camera.objects.filter(tenant=tenant, name=name).first()
                url = urls[(index - 1) % len(urls)]
                stale = camera is not None and camera.readable_rtsp_url() != url
                if camera is not None and options["camera_url"] and stale:
                    # The simulator's credentials (or this checkout's keys) changed since
                    # the last seeding.
                    camera = camera_services.update_camera(
                        camera, changes={"rtsp_url": url}, actor=None)
                if camera is None:
                    camera = camera_services.register_camera(
                        tenant=tenant, actor=None,
                        data={"name": name, "rtsp_url": url,
                              "location": location, "zone": zone, "lpr_enabled": lpr,
                              "recording_mode": RecordingMode.CONTINUOUS if lpr
                              else RecordingMode.OFF,
                              "latitude": -23.55 + index / 1000, "longitude": -46.63},
                    )
                self.stdout.write(
                    f"camera: {camera.name} {camera.id} {camera.rtsp_url_masked}"
                    f"{' [lpr]' if camera.lpr_enabled else ''}"
                )
