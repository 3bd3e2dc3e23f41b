"""factory_boy factories for the admin service's models (fixtures bypass the services:
no audit entries or events are written for rows they create)."""

from __future__ import annotations

import factory
from accounts.models import User
from cameras.models import Camera, Location, Zone, cipher
from factory.django import DjangoModelFactory
from tenancy.models import Tenant

from shared_kernel.crypto import mask_rtsp_url

DEFAULT_PASSWORD = "Correct-Horse-42"
CAMERA_PASSWORD = "Sup3r-Secret-Cam-Pw"


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Prefeitura {n}")
    slug = factory.Sequence(lambda n: f"prefeitura-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    tenant = factory.SubFactory(TenantFactory)
    role = "viewer"

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class SuperadminFactory(UserFactory):
    tenant = None
    role = ""
    is_superadmin = True


class LocationFactory(DjangoModelFactory):
    class Meta:
        model = Location

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    latitude = -23.55
    longitude = -46.63


class ZoneFactory(DjangoModelFactory):
    class Meta:
        model = Zone

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Zone {n}")


class CameraFactory(DjangoModelFactory):
    class Meta:
        model = Camera

    class Params:
        url = f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.5:554/stream1"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Camera {n}")
    rtsp_url_encrypted = factory.LazyAttribute(lambda o: cipher().encrypt(o.url))
    rtsp_url_masked = factory.LazyAttribute(lambda o: mask_rtsp_url(o.url))
