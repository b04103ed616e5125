"""What every API endpoint shares: one error shape for every 4xx, and Django's ValidationError as a 400.

    {"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"email": ["..."]}}}
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError({field: [str(m) for e in errs for m in e.messages]
                                               for field, errs in exc.error_dict.items()})
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    return exc


def _flat_fields(detail: dict, prefix: str = "") -> dict[str, list[str]]:
    """Field errors as {"name": ["message", ...]}: errors inside a list or an object are named by their path
    ("leads.3": an item of a list), so `fields` has one shape whatever the serializer nests."""
    fields: dict[str, list[str]] = {}
    for key, value in detail.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            fields.update(_flat_fields(value, prefix=f"{name}."))
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            for position, item in enumerate(value):
                if isinstance(item, dict):
                    fields.update(_flat_fields(item, prefix=f"{name}.{position}."))
                elif isinstance(item, list):
                    fields[f"{name}.{position}"] = [str(message) for message in item]
                elif item:
                    fields.setdefault(name, []).append(str(item))
        else:
            fields[name] = [str(message) for message in value] if isinstance(value, list) else [str(value)]
    return fields


def exception_handler(exc: Exception, context: dict) -> Response | None:
    exc = _as_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    fields: dict = {}
    message = ""
    code = "error"
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        detail = response.data
        if isinstance(detail, dict):
            fields = _flat_fields({key: value for key, value in detail.items() if key != "non_field_errors"})
            non_field = detail.get("non_field_errors", [])
            message = " ".join(str(m) for m in non_field) or "Some fields are invalid."
        else:
            message = " ".join(str(m) for m in detail)
    else:
        if isinstance(exc, Http404):
            code = "not_found"
        elif isinstance(exc, PermissionDenied):
            code = "permission_denied"
        elif isinstance(exc, exceptions.APIException):
            code = exc.default_code
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        message = str(detail)
    response.data = {"error": {"status": response.status_code, "code": code, "message": message, "fields": fields}}
    if response.status_code == status.HTTP_400_BAD_REQUEST and not message:
        response.data["error"]["message"] = "The request is invalid."
    return response

