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
        return super().parse(io.BytesIO(body), media_type, parser_context)
