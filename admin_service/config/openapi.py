"""The admin service's OpenAPI document, built once per process, and what it says about
errors and tenants.

drf-spectacular builds the document anew on every request, in seconds, and loads its
extensions lazily in a way that is not thread-safe: two first requests at once on a new
worker (a health poller, a fuzzer) could answer 500
(``AttributeError: 'NoneType' object has no attribute 'startswith'``,
tfranzel/drf-spectacular#1122). The document depends on the code only, so it is built
under a lock the first time and kept (per language).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from django.conf import settings
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from shared_kernel.openapi import document_errors

#: Where objects owned by a tenant live (cameras, locations, zones).
TENANT_OWNED_PREFIX = "/api/cidades/"

_lock = threading.Lock()
_documents: dict[str, Any] = {}


def _language(asked: str | None) -> str:
    """One of the service's languages (``settings.LANGUAGES``) for ``?lang=``."""
    try:
        return translation.get_supported_language_variant(
            asked or settings.LANGUAGE_CODE).lower()
    except LookupError:
        return str(settings.LANGUAGE_CODE)


class CachedSchemaView(SpectacularAPIView):
    def _get_schema_response(self, request: Request) -> Response:
        # The API has no versions; only a language the service speaks makes another
        # document (a key per query value would let anyone fill the memory), and each is
        # built in its own language, whatever the request asked for.
        language = _language(request.GET.get("lang"))
        document = _documents.get(language)
        if document is None:
            with _lock, translation.override(language):
                if language not in _documents:
                    generator = self.generator_class(urlconf=self.urlconf,
                                                     patterns=self.patterns)
                    _documents[language] = generator.get_schema(request=request,
                                                                public=self.serve_public)
                document = _documents[language]
        return Response(data=document, headers={
            "Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'})


def errors_hook(result: dict[str, Any], generator: Any, request: Any,
                public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing: every operation's errors in the one error shape."""
    return document_errors(result)


def tenant_on_update_hook(result: dict[str, Any], generator: Any, request: Any,
                          public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing: an object's tenant never changes, for any caller
    (``TenantOwnedSerializer`` makes it read-only on an existing object), but create and
    update share one request schema that lists it (required, on PUT): a client that
    followed the document got "This field is read-only." PUT and PATCH get copies of
    their request schemas without it."""
    schemas = result.get("components", {}).get("schemas", {})
    for path, path_item in result.get("paths", {}).items():
        if not path.startswith(TENANT_OWNED_PREFIX):
            continue  # a user's tenant is a superadmin's to change
        for method in ("put", "patch"):
            content = path_item.get(method, {}).get("requestBody", {}).get("content", {})
            for media in content.values():
                name = media.get("schema", {}).get("$ref", "").rpartition("/")[2]
                schema = schemas.get(name)
                if not schema or "tenant" not in schema.get("properties", {}):
                    continue
                update_name = f"{name}OnUpdate"
                if update_name not in schemas:
                    update = copy.deepcopy(schema)
                    del update["properties"]["tenant"]
                    if "required" in update:
                        update["required"] = [f for f in update["required"] if f != "tenant"]
                    schemas[update_name] = update
                media["schema"] = {"$ref": f"#/components/schemas/{update_name}"}
    return result
