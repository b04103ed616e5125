"""The API's request parser: JSON, bounded in size.

Its own module because DRF imports parser classes while rest_framework.views is still loading (as with
smarketing.api_auth). DRF reads a JSON body straight from the request stream, so Django's
DATA_UPLOAD_MAX_MEMORY_SIZE never applies to it: without this bound, one request could make the server
read and parse any number of megabytes.
"""

import io

from django.conf import settings
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than {limit // (1024 * 1024)} MB; send the items in "
                         "several requests.")


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies up to API_MAX_BODY_BYTES; a larger one is a 413 before it is parsed (or read past the limit)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(limit)
        # The declared length can lie (or be absent): never read more than one byte past the limit.
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(limit)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # json.loads gives up on a few thousand nested brackets with RecursionError, not ValueError.
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
        # PostgreSQL stores no NUL character in text or JSON (the insert fails): refused here for every field,
        # the free-form `properties` included. Only a body that spells one (\u0000) is walked.
        if b"\\u0000" in body and _holds_nul(data):
            raise exceptions.ParseError("The body holds a NUL character (\\u0000), which no field can store.")
        return data


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False
