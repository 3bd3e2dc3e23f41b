"""Every error leaves the API in one shape: {"error": {"code", "message", "details"}}.

Domain and framework exceptions are translated here, once (SPEC §10).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from config.middleware import wants_json
from shared_kernel.camera_network import AddressNotAllowed, AddressUnresolvable

logger = logging.getLogger(__name__)

_CODES = {
    status.HTTP_400_BAD_REQUEST: "bad_request",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "server_error",
    status.HTTP_503_SERVICE_UNAVAILABLE: "service_unavailable",
}


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A dependency is unavailable; try again shortly."
    default_code = "service_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database could not serve the request: a dropped connection (a restart, a
    failover), a server refusing connections for now, a statement timeout or deadlock."""

    default_detail = "The database is unavailable; try again shortly."


#: A change whose connection failed at its commit may have been saved: its 503 carries
#: no ``Retry-After`` and says so (a safe method's may be resent as it is).
UNKNOWN_OUTCOME = ("The database connection failed; the change may or may not have been "
                   "saved, check before trying again.")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


def reason_code(status_code: int) -> str:
    """The error code of a status when nothing more specific is known."""
    return _CODES.get(status_code, "error")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status_code: int, message: str, details: Any = None,
                   code: str | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(code or reason_code(status_code), message, details), status=status_code
    )


# Field error codes specific enough to be the response's own ``code`` (clients branch on
# them); every other validation failure answers ``validation_error``. The details still
# name the field.
SPECIFIC_VALIDATION_CODES = frozenset({
    AddressNotAllowed.code,
    AddressUnresolvable.code,
    # ONVIF onboarding (cameras/onvif.py).
    "onvif_not_authorized",
    "onvif_unreachable",
    "onvif_error",
})


def _specific_code(exc: DjangoValidationError) -> str | None:
    """The one specific code every error of ``exc`` carries, if there is one."""
    errors = ([e for errors in exc.error_dict.values() for e in errors]
              if hasattr(exc, "error_dict") else exc.error_list)
    codes = {e.code for e in errors}
    if len(codes) == 1:
        (code,) = codes
        if code in SPECIFIC_VALIDATION_CODES:
            return str(code)
    return None


def _django_validation_details(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): [str(m) for e in v for m in e.messages]
            for k, v in exc.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views imports the settings that name this module.
    from rest_framework.views import exception_handler

    validation_code = None
    if isinstance(exc, DjangoValidationError):
        validation_code = _specific_code(exc)
        exc = exceptions.ValidationError(_django_validation_details(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, IntegrityError):
        logger.warning("integrity error turned into 409", extra={"error": str(exc)[:200]})
        exc = Conflict()
    elif isinstance(exc, DataError):
        # A value the database cannot store (a NUL character, a number out of range)
        # that no validator caught: the request's fault, not the server's.
        logger.warning("data error turned into 400", extra={"error": str(exc)[:200]})
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A value of the request cannot be stored."]})
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable", extra={"error": str(exc)[:200]})
        exc = DatabaseUnavailable() if _safe(context) else DatabaseUnavailable(UNKNOWN_OUTCOME)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        # Unexpected: log it (masked by the JSON formatter) and answer in the shape.
        logger.exception("unhandled error in API view")
        return Response(
            error_body("server_error", "Internal server error."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        details = response.data if isinstance(response.data, dict) else {
            "non_field_errors": response.data
        }
        response.data = error_body(validation_code or "validation_error", "Invalid input.",
                                   details)
        return response

    assert isinstance(exc, exceptions.APIException)
    code = _codes_of(exc) or _CODES.get(response.status_code, "error")
    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details["retry_after_seconds"] = int(exc.wait)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
    response.data = error_body(code, str(message), details)
    if isinstance(exc, DatabaseUnavailable) and _safe(context):
        response["Retry-After"] = "1"
    return response


def _safe(context: dict[str, Any]) -> bool:
    request = context.get("request")
    return request is None or request.method in SAFE_METHODS


def _codes_of(exc: exceptions.APIException) -> str | None:
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else None


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return error_response(404, "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def server_error_view(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return error_response(500, "Internal server error.")
    from django.views.defaults import server_error

    return server_error(request)


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return error_response(400, "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def permission_denied_view(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    if wants_json(request):
        return error_response(403, "Permission denied.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception or DjangoPermissionDenied())
