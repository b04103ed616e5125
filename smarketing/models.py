from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from smarketing.roles import ROLE_FUNCTION, Function, Role, role_can


class Team(models.Model):
    """A marketing or sales team; sales reps are routed leads within their team."""

    name = models.CharField(max_length=100, unique=True)
    function = models.CharField(max_length=20, choices=Function.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str):
        # Addresses are stored lower-case; people type them however their keyboard likes.
        return self.get(email=username.strip().lower())

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: marketer, sales rep, manager or admin. Signs in with their e-mail."""

    username = None
    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=30, choices=Role.choices, default=Role.MARKETER)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports",
        help_text="The sales manager a rep's breaches escalate to.",
    )
    # ISO 3166 country codes (upper case) a sales rep covers; routing matches a lead's country here.
    territory = models.JSONField(default=list, blank=True)
    capacity = models.PositiveIntegerField(default=25, help_text="Most open handoffs a rep takes at once.")
    is_away = models.BooleanField(default=False, help_text="Away reps are skipped by routing.")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["first_name", "last_name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def function(self) -> str | None:
        return ROLE_FUNCTION[self.role]

    @property
    def is_sales_rep(self) -> bool:
        return self.role == Role.SALES_REP

    def can(self, action: str) -> bool:
        return self.is_active and role_can(self.role, action)


class AuditEntry(models.Model):
    """Who changed what and when, for every change to the agreements, routing and users."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=40)
    summary = models.CharField(max_length=500)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id", "-at"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.summary}"

class ApiToken(models.Model):
    """A key an integration sends as `Authorization: Bearer <token>`. It acts as its user, with its scope.

    Only the sha256 of the key is stored: the key itself is shown once, when an admin creates it.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100, help_text="What uses it, e.g. “Website forms” or “HubSpot sync”.")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens",
                             help_text="The token acts as this user, with this user's role.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    # The first characters of the key, so people can tell their tokens apart without the key itself.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEvent(models.TextChoices):
    """What an outgoing webhook may be told about. Each app emits its own with smarketing.services.webhook_emit."""

    LEAD_MQL = "lead.mql", "Lead became MQL"
    HANDOFF_MADE = "handoff.made", "Handoff made"
    HANDOFF_REJECTED = "handoff.rejected", "Handoff rejected"
    SLA_BREACH = "sla.breach", "SLA breach"
    LEAD_WON = "lead.won", "Lead won"


class WebhookEndpoint(models.Model):
    """A URL an admin registered to receive some events, signed with its secret."""

    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The WebhookEvent values this endpoint receives.")
    # Kept in clear: it signs every delivery, and the receiver's admin needs to read it to verify them.
    secret = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint, with what happened on each attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    # The body's "id": receivers dedupe on it, since a delivery may arrive more than once.
    event_id = models.UUIDField(editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; while one runs, a lease that keeps a second worker from sending too.
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The sweep that sends what a lost message left behind.
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"

class Notification(models.Model):
    """A message to one person, shown under the bell and, when wanted, sent by e-mail after commit."""

    class Kind(models.TextChoices):
        HANDOFF_NEW = "handoff_new", "A lead was handed to you"
        HANDOFF_REJECTED = "handoff_rejected", "A lead you handed off was rejected"
        HANDOFF_WON = "handoff_won", "A lead you handed off was won"
        FEEDBACK = "feedback", "Feedback on a lead you handed off"
        HANDOFF_REASSIGNED = "handoff_reassigned", "A lead was reassigned"
        OTHER = "other", "Other"

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField("link", max_length=500, blank=True, help_text="A path in the app, e.g. /leads/42/.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The e-mail copy: wanted, sent, or still being retried (the sweep resends what a lost message left).
    email_wanted = models.BooleanField(default=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)
    # While one worker sends the e-mail, nobody else does (a message delivered twice, the sweep's copy):
    # a claim that lapses, so a worker killed while sending leaves it to the next try.
    email_claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            # The bell's unread count on every page: only the unread rows are in this index.
            models.Index(fields=["recipient"], condition=models.Q(read_at=None), name="notification_unread_idx"),
            models.Index(fields=["created_at"], condition=models.Q(email_wanted=True, email_sent_at=None),
                         name="notification_email_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title
