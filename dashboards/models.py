"""The dashboards' own tables: daily funnel rollups, the weekly and monthly meetings with their action items,
shared read-only links, digest preferences and the log of digests sent.

Everything here is derived from, or sits beside, the other apps' data: nothing in leads, scoring or sla
points at these tables, and dropping the rollups loses nothing (`manage.py rollup_funnel --since` rebuilds).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Grain(models.TextChoices):
    """Which dimensions a rollup row keeps; the others are blank (summed over).

    The page reads the smallest grain that answers its question: the whole funnel from `total` (a few
    rows a day), a breakdown by source from `source`, and only a filtered view from `all`, the full cross,
    narrowed first by the filter's own indexed column.
    """

    TOTAL = "total", "Total"
    SOURCE = "source", "Source"
    CAMPAIGN = "campaign", "Campaign"
    PERSONA = "persona", "Persona"
    REP = "rep", "Rep"
    TEAM = "team", "Team"
    ALL = "all", "All dimensions"


class FunnelDay(models.Model):
    """The stage moves of one day (in the organisation's time zone) for one combination of dimensions.

    `moves` counts StageChange rows from `from_stage` to `to_stage` that day; `returning` counts those that
    brought a lead back into a stage it had been in before (a recycled lead qualifying again). `velocity`
    is a histogram of the time the lead had spent in `from_stage` (dashboards.metrics.velocity_bucket),
    kept for the forward steps of the funnel only. `won_amount` sums the won deals of moves into `won`.
    The lead's source, campaign, persona and owner are those it had when the day was rolled up.
    """

    day = models.DateField()
    grain = models.CharField(max_length=10, choices=Grain.choices)
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20)
    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    # Plain ids, not foreign keys: a rollup outlives a deleted persona or user and never blocks a delete.
    persona_id = models.BigIntegerField(null=True, blank=True)
    rep_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    moves = models.PositiveIntegerField(default=0)
    returning = models.PositiveIntegerField(default=0)
    won_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # {"bucket": count} as JSON text: merged in Python, never queried inside.
    velocity = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["grain", "day"], name="funnelday_grain_day_idx"),
            # Filtered views read the full cross narrowed by one dimension first.
            models.Index(fields=["grain", "campaign", "day"], name="funnelday_campaign_idx"),
            models.Index(fields=["grain", "source", "day"], name="funnelday_source_idx"),
            models.Index(fields=["grain", "rep_id", "day"], name="funnelday_rep_idx"),
            models.Index(fields=["grain", "persona_id", "day"], name="funnelday_persona_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.grain} {self.from_stage or '∅'}→{self.to_stage}: {self.moves}"


class RollupDay(models.Model):
    """That a day's FunnelDay rows are stored, and when they were computed (the daily job's ledger)."""

    day = models.DateField(primary_key=True)
    computed_at = models.DateTimeField(default=timezone.now)
    moves = models.PositiveIntegerField(default=0)
    time_zone = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.day} ({self.moves} moves)"


class Meeting(models.Model):
    """The weekly smarketing meeting of both teams, or the monthly management meeting, for one period.

    Its agenda is computed from the data each time the page opens; only what people write is stored.
    """

    class Kind(models.TextChoices):
        WEEKLY = "weekly", "Weekly smarketing meeting"
        MONTHLY = "monthly", "Monthly management meeting"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Monday of the week, or the first day of the month.
    period_start = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_start", "kind"]
        constraints = [
            # One meeting page per period: two people opening it at once find the same row.
            models.UniqueConstraint(fields=["kind", "period_start"], name="meeting_once_per_period"),
            models.CheckConstraint(condition=Q(kind__in=["weekly", "monthly"]), name="meeting_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start:%Y-%m-%d}"


class MeetingNote(models.Model):
    """A note an attendee added to a meeting; notes are added, never overwritten by someone else's."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


class ActionItem(models.Model):
    """Something a person agreed to do by a date. Open items carry over to every later meeting until done."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items",
                                help_text="The meeting where it was agreed.")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["done_at", "due_on"], name="actionitem_open_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class SharedLink(models.Model):
    """A read-only link to one dashboard view (its query string), for people without an account.

    The token in the URL is signed (django.core.signing) and names this row; the row says until when the
    link works and whether a manager revoked it. The shared page shows aggregates only, never a lead.
    """

    label = models.CharField(max_length=120, blank=True)
    query = models.CharField(max_length=1000, blank=True, help_text="The dashboard's filters, as a query string.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    last_opened_at = models.DateTimeField(null=True, blank=True)
    opened = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.label or f"Shared dashboard {self.pk}"

    def is_active(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


class DigestPreference(models.Model):
    """A person's choice about the e-mails the dashboards send; no row means both are wanted."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="digest_preference")
    weekly_digest = models.BooleanField(default=True)
    monthly_report = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Digests for {self.user}"


class DigestDelivery(models.Model):
    """That one digest or report went to one person: the job sends each at most once (level-triggered)."""

    class Kind(models.TextChoices):
        WEEKLY = "weekly", "Weekly digest"
        MONTHLY = "monthly", "Monthly report"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    period_start = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "period_start", "user"], name="digest_once_per_user_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start} to {self.user_id}"


class CalibrationSnapshot(models.Model):
    """How well the scoring in force separated good leads from bad ones, computed by a job and kept.

    Computing it reads every lead with a known outcome, which takes seconds on a large database: the page
    shows the latest snapshot and a job refreshes it (nightly, or when someone asks).
    """

    class Outcome(models.TextChoices):
        ACCEPTANCE = "acceptance", "Accepted vs rejected by sales"
        WIN = "win", "Won vs lost"

    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    scoring_version_number = models.PositiveIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)
    outcomes = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["outcome", "-computed_at"], name="calibration_latest_idx")]

    def __str__(self) -> str:
        return f"Calibration of scoring v{self.scoring_version_number} ({self.outcome}) at {self.computed_at:%Y-%m-%d %H:%M}"
