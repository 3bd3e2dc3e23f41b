"""The admin service's OpenAPI document, built once per process.

drf-spectacular builds the document anew on every request, in seconds, and loads its
extensions lazily in a way that is not thread-safe: two first requests at once on a new
worker (a health poller, a fuzzer) could answer 500
(``AttributeError: 'NoneType' object has no attribute 'startswith'``,
tfranzel/drf-spectacular#1122). The document depends on the code only, so it is built
under a lock the first time and kept (per language).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

_lock = threading.Lock()
_documents: dict[str | None, Any] = {}


class CachedSchemaView(SpectacularAPIView):
    def _get_schema_response(self, request: Request) -> Response:
        # The API has no versions; only a known language makes another document (a key
        # per query value would let anyone fill the memory).
        lang = request.GET.get("lang")
        key = lang if lang in dict(settings.LANGUAGES) else None
        with _lock:
            if key not in _documents:
                generator = self.generator_class(urlconf=self.urlconf, patterns=self.patterns)
                _documents[key] = generator.get_schema(request=request,
                                                       public=self.serve_public)
        return Response(data=_documents[key], headers={
            "Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'})
