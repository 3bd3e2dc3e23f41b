"""A bare DRF view (no authentication, no database, no middleware) answering the body in
``GTV_FLOOR_BODY``: ``gunicorn tools.benchmarks.floors.drf_floor:application``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=False, SECRET_KEY="floor-only-not-a-secret", ALLOWED_HOSTS=["*"],  # noqa: S106
    ROOT_URLCONF=__name__, MIDDLEWARE=[],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={},
    REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [],
                    "DEFAULT_PERMISSION_CLASSES": [],
                    "UNAUTHENTICATED_USER": None,
                    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]},
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

BODY: Any = json.loads(Path(os.environ["GTV_FLOOR_BODY"]).read_text())


class Floor(APIView):
    def get(self, request: Request) -> Response:
        return Response(BODY)


urlpatterns = [path("floor", Floor.as_view())]
application = get_wsgi_application()
