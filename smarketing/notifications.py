"""In-app notifications and their e-mail copies: the one writer, and the reads behind the bell.

notification_send writes the row in the caller's transaction; the e-mail goes through Celery after
commit, so a rolled-back action never mails anyone and a mail server that is down never breaks the
action. A failed e-mail is retried by its task and, if the message itself was lost, by the periodic
sweep (notifications_email_due), level-triggered like every job here.
"""

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from smarketing.models import Notification, User
from smarketing.tasks import enqueue

EMAIL_TASK = "smarketing.tasks.notification_email_task"
# An e-mail is tried this many times (task retries and sweeps together), then left as failed.
EMAIL_MAX_ATTEMPTS = 6
# The sweep leaves young notifications to their own task, and gives up on day-old ones.
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_HORIZON = timedelta(days=1)
SWEEP_BATCH = 200
# How long a worker holds a notification's e-mail while sending it: longer than the task's time limit
# (60 s) and the SMTP timeout (EMAIL_TIMEOUT, 30 s), so a second holder of the message waits it out.
EMAIL_CLAIM = timedelta(minutes=2)


def notification_send(
    *, recipient: User, kind: str, title: str, body: str = "", url: str = "", email: bool = True,
) -> Notification:
    """Tells one person something: a row under their bell now, an e-mail after the transaction commits."""
    wanted = email and recipient.is_active and bool(recipient.email)
    notification = Notification.objects.create(
        recipient=recipient, kind=kind, title=title[:200], body=body, url=url[:500], email_wanted=wanted,
    )
    if wanted:
        transaction.on_commit(partial(enqueue, EMAIL_TASK, notification_id=notification.pk))
    return notification


def notification_email_send(*, notification_id: int) -> bool:
    """Sends a notification's e-mail once; True when sent now. Raises when the mail server fails (retry).

    Claimed first: of two workers holding a message for it at once (a redelivery, the sweep's copy), one
    sends and the other finds it taken.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        Q(email_claimed_until=None) | Q(email_claimed_until__lt=now),
        pk=notification_id, email_wanted=True, email_sent_at=None,
    ).update(email_claimed_until=now + EMAIL_CLAIM)
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    link = f"{settings.SITE_URL.rstrip('/')}{notification.url}" if notification.url else settings.SITE_URL
    text = f"{notification.body}\n\n{link}\n" if notification.body else f"{link}\n"
    try:
        send_mail(subject=notification.title, message=text, from_email=None,
                  recipient_list=[notification.recipient.email], fail_silently=False)
    except Exception as exc:
        # Released at once: the task's retry (or the sweep) may try again without waiting for the claim.
        Notification.objects.filter(pk=notification.pk).update(
            email_attempts=F("email_attempts") + 1, email_error=f"{type(exc).__name__}: {exc}"[:300],
            email_claimed_until=None,
        )
        raise
    Notification.objects.filter(pk=notification.pk).update(
        email_sent_at=timezone.now(), email_attempts=F("email_attempts") + 1, email_error="", email_claimed_until=None,
    )
    return True


def notifications_email_due() -> list[int]:
    """Notifications whose e-mail is wanted, unsent, not given up on and old enough that its task was lost."""
    now = timezone.now()
    return list(
        Notification.objects.filter(
            email_wanted=True, email_sent_at=None, email_attempts__lt=EMAIL_MAX_ATTEMPTS,
            created_at__lt=now - SWEEP_GRACE, created_at__gte=now - SWEEP_HORIZON,
        ).order_by("created_at").values_list("pk", flat=True)[:SWEEP_BATCH]
    )


@transaction.atomic
def notifications_mark_read(*, recipient: User, notification_ids: list[int] | None = None) -> int:
    """Marks the recipient's notifications read (all of them without ids); returns how many were unread."""
    unread = Notification.objects.filter(recipient=recipient, read_at=None)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


def notifications_for(*, recipient: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=recipient).order_by("-created_at", "-id")


def notifications_unread_count(*, recipient: User) -> int:
    return Notification.objects.filter(recipient=recipient, read_at=None).count()
