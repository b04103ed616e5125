"""Outgoing webhooks on the wire: how a delivery is signed, and the one place that makes the HTTP call.

A receiver checks a delivery by recomputing the signature over the timestamp and the raw body:

    signed = f"{timestamp}.".encode() + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, v1_from_the_header) and abs(time.time() - timestamp) < 300

The timestamp is signed too, so a captured delivery cannot be replayed later with a fresh date.
"""

import hashlib
import hmac
import urllib.error
import urllib.request

SIGNATURE_HEADER = "X-Smarketing-Signature"
EVENT_HEADER = "X-Smarketing-Event"
DELIVERY_HEADER = "X-Smarketing-Delivery"
TIMESTAMP_HEADER = "X-Smarketing-Timestamp"
USER_AGENT = "Smarketing-Webhooks/1"
# A receiver that takes longer than this is treated as down; the delivery is retried later.
TIMEOUT_SECONDS = 10


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed_headers(*, secret: str, timestamp: int, body: bytes, event: str, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=timestamp, body=body),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would re-send the body to a URL the admin never registered.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POSTs the body and returns the HTTP status; raises OSError when the receiver cannot be reached.

    The boundary the tests fake: everything else about a delivery is our code.
    """
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - admin's URL
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
