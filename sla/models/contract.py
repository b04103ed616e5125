"""The SLA contract: versions, business calendars, breaches and shared goals.

An SLA version holds what each team promises the other (marketing: MQLs per month, pipeline value,
an acceptance rate; sales: a first attempt within H business hours, K attempts within D working days)
and the text both sign with the numbers. Like the qualification agreement, a version is a draft until a
marketing manager and a sales manager have both signed it; then it takes effect and the previous one is
kept as history. Each version owns its business calendar, so the hours a deadline was counted in are
the hours that were signed.
"""

import re
from datetime import date, time
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from holidays import registry

from scoring.models import Persona, SignedVersion, VersionStatus
from sla.business_time import WorkingCalendar
from smarketing.models import Team
from smarketing.roles import Function

__all__ = ["BreachScan", "Breach", "BusinessCalendar", "ClosedDay", "Goal", "SlaVersion", "WEEKDAY_NAMES"]

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def holiday_country_choices() -> list[tuple[str, str]]:
    """The countries whose public holidays the `holidays` library knows, by name."""
    names = {code: re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name) for name, code, *_ in registry.COUNTRIES.values()}
    return sorted(names.items(), key=lambda item: item[1])


class BusinessCalendar(models.Model):
    """When the SLA's clock runs: a time zone, working weekdays and hours, public holidays, closed days."""

    time_zone = models.CharField(max_length=64, default="Europe/Berlin",
                                 help_text="An IANA time zone, e.g. Europe/Berlin or America/New_York.")
    working_weekdays = models.JSONField(default=list, help_text="Weekday numbers, 0 = Monday … 6 = Sunday.")
    opens_at = models.TimeField(default=time(9))
    closes_at = models.TimeField(default=time(17))
    holiday_country = models.CharField(max_length=2, blank=True,
                                       help_text="Public holidays of this country (ISO code) are not worked.")
    holiday_subdivision = models.CharField(max_length=10, blank=True,
                                           help_text="A state or region with its own holidays, e.g. BY for Bavaria.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="calendar_closes_after_opens",
                                   violation_error_message="The business day must close after it opens."),
        ]

    def __str__(self) -> str:
        return f"{self.weekdays_label}, {self.opens_at:%H:%M}–{self.closes_at:%H:%M} ({self.time_zone})"

    @property
    def weekdays_label(self) -> str:
        days = sorted(self.working_weekdays)
        if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            return f"{WEEKDAY_NAMES[days[0]][:3]}–{WEEKDAY_NAMES[days[-1]][:3]}"
        return ", ".join(WEEKDAY_NAMES[d][:3] for d in days) or "no working days"

    @property
    def holiday_country_name(self) -> str:
        return dict(holiday_country_choices()).get(self.holiday_country, self.holiday_country)

    @cached_property
    def working(self) -> WorkingCalendar:
        """This calendar for business-time arithmetic (reads its closed days once)."""
        return WorkingCalendar(
            zone=ZoneInfo(self.time_zone),
            weekdays=frozenset(self.working_weekdays),
            opens=self.opens_at,
            closes=self.closes_at,
            holiday_country=self.holiday_country,
            holiday_subdivision=self.holiday_subdivision,
            closed_dates=frozenset(day.day for day in self.closed_days.all()),
        )


class ClosedDay(models.Model):
    """A day the calendar does not work beyond the public holidays: a company holiday, an offsite."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="closed_days")
    day = models.DateField()
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["calendar", "day"], name="closedday_once_per_calendar")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.label}".strip()


class SlaVersion(SignedVersion):
    """Both teams' commitments, the contract's text and its calendar; in force once both managers sign."""

    class MqlBasis(models.TextChoices):
        TOTAL = "total", "in total"
        PER_REP = "per_rep", "per active sales rep"

    calendar = models.OneToOneField(BusinessCalendar, on_delete=models.PROTECT, related_name="sla_version")

    # Marketing's side.
    mqls_per_month = models.PositiveIntegerField(default=100)
    mql_basis = models.CharField(max_length=10, choices=MqlBasis.choices, default=MqlBasis.TOTAL)
    pipeline_value_per_month = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                                   help_text="Optional: pipeline value of the MQLs delivered.")
    min_acceptance_rate = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Percent of handed-off MQLs that sales accepts, at least.")

    # Sales' side.
    first_attempt_hours = models.PositiveSmallIntegerField(
        default=6, help_text="First contact attempt within this many business hours of the handoff.")
    attempts_required = models.PositiveSmallIntegerField(default=4, help_text="K contact attempts …")
    attempts_within_days = models.PositiveSmallIntegerField(default=12, help_text="… within D working days.")
    auto_recycle = models.BooleanField(
        default=False, help_text="An accepted lead with no answer when the K-attempts deadline passes goes back "
                                 "to marketing's nurture (recycled).")
    stale_after_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="An accepted lead without any sales activity for this many days is flagged.")

    # The contract's text, read and signed with the numbers.
    personas = models.ManyToManyField(Persona, blank=True, related_name="+")
    personas_text = models.TextField("Personas covered", blank=True)
    responsibilities_text = models.TextField("Roles and responsibilities", blank=True)
    protocol_text = models.TextField("Lead-handling protocol", blank=True)
    review_on = models.DateField(null=True, blank=True, help_text="When both teams reassess the agreement.")
    review_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(SignedVersion.Meta):
        verbose_name = "SLA version"
        constraints = [
            # One version in force and one draft at a time: everyone reads and edits the same one.
            models.UniqueConstraint(fields=["status"], condition=Q(status=VersionStatus.ACTIVE), name="slaversion_one_active"),
            models.UniqueConstraint(fields=["status"], condition=Q(status=VersionStatus.DRAFT), name="slaversion_one_draft"),
            models.UniqueConstraint(fields=["number"], name="slaversion_number_unique"),
            models.CheckConstraint(
                condition=Q(first_attempt_hours__gte=1) & Q(attempts_required__gte=1) & Q(attempts_within_days__gte=1),
                name="slaversion_sales_commitments_positive",
                violation_error_message="Sales' commitments (hours, attempts, days) must each be at least 1.",
            ),
            models.CheckConstraint(condition=Q(min_acceptance_rate__isnull=True) | Q(min_acceptance_rate__lte=100),
                                   name="slaversion_acceptance_rate_percent",
                                   violation_error_message="The acceptance rate is a percentage, at most 100."),
        ]

    @property
    def label(self) -> str:
        return f"SLA v{self.number}"

    def mqls_committed(self, *, active_reps: int) -> int:
        """Marketing's monthly MQL commitment as a number, for a sales team of `active_reps`."""
        return self.mqls_per_month * active_reps if self.mql_basis == self.MqlBasis.PER_REP else self.mqls_per_month


class BreachScan(models.Model):
    """How far the breach check has looked, per kind of deadline: the next run starts from here.

    The check reads only deadlines that fell due since its last run, so its work grows with the breaches
    it finds, not with all open handoffs; a nightly full sweep catches anything a watermark could miss.
    """

    kind = models.CharField(max_length=30, primary_key=True)
    scanned_to = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} up to {self.scanned_to:%Y-%m-%d %H:%M}"


class Breach(models.Model):
    """One SLA commitment missed: for one handoff (sales), or for one month (marketing). Recorded once."""

    class Kind(models.TextChoices):
        FIRST_ATTEMPT = "first_attempt", "First attempt late"
        ATTEMPTS = "attempts", "Too few attempts"
        STALE = "stale", "Accepted lead left idle"
        MQL_VOLUME = "mql_volume", "MQLs short of commitment"
        ACCEPTANCE_RATE = "acceptance_rate", "Acceptance rate below minimum"
        PIPELINE_VALUE = "pipeline_value", "Pipeline value short"

    SALES_KINDS = (Kind.FIRST_ATTEMPT, Kind.ATTEMPTS, Kind.STALE)
    MARKETING_KINDS = (Kind.MQL_VOLUME, Kind.ACCEPTANCE_RATE, Kind.PIPELINE_VALUE)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    side = models.CharField(max_length=20, choices=Function.choices)
    handoff = models.ForeignKey("sla.Handoff", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="breaches")
    month = models.DateField(null=True, blank=True, help_text="First day of the month, for marketing's breaches.")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="sla_breaches")
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    sla_version_number = models.PositiveIntegerField(null=True, blank=True)
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField(default=timezone.now)
    # An attempt logged after the deadline: the commitment was kept, late.
    met_at = models.DateTimeField(null=True, blank=True)
    # The handoff ended (rejected, reassigned, recycled) without the commitment being kept.
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the rep was told and their manager escalated to (or, for marketing, both teams' managers):
    # claimed by the notifying step, so each breach is notified once.
    notified_at = models.DateTimeField(null=True, blank=True)
    committed = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    delivered = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name_plural = "breaches"
        constraints = [
            # Recorded once: a retry or two concurrent checks insert the same row and one of them loses.
            models.UniqueConstraint(fields=["handoff", "kind"], condition=Q(handoff__isnull=False),
                                    name="breach_once_per_handoff"),
            models.UniqueConstraint(fields=["month", "kind"], condition=Q(month__isnull=False),
                                    name="breach_once_per_month"),
            models.CheckConstraint(condition=Q(handoff__isnull=True) ^ Q(month__isnull=True),
                                   name="breach_handoff_or_month"),
        ]
        indexes = [
            # The check looks for open breaches whose handoff got its attempt late: only open ones.
            models.Index(fields=["handoff"], condition=Q(met_at__isnull=True, closed_at__isnull=True),
                         name="breach_open_idx"),
            # The notifying step reads only the breaches nobody has been told of yet.
            models.Index(fields=["id"], condition=Q(notified_at__isnull=True), name="breach_unnotified_idx"),
            models.Index(fields=["-detected_at"], name="breach_detected_idx"),
            models.Index(fields=["rep", "-detected_at"], name="breach_rep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.due_at:%Y-%m-%d %H:%M})"

    @property
    def status(self) -> str:
        if self.met_at:
            return "met late"
        if self.closed_at:
            return "never met"
        return "open"


class Goal(models.Model):
    """A shared SMART goal: a metric from a fixed list, a target, a period, the teams that own it.

    Its progress is computed from the data (sla.contract_selectors.goals_progress), never typed in.
    """

    class Metric(models.TextChoices):
        NEW_OPPORTUNITIES = "new_opportunities", "New opportunities"
        REVENUE_WON = "revenue_won", "Revenue won"
        MEETINGS_BOOKED = "meetings_booked", "Meetings booked"
        MQLS_DELIVERED = "mqls_delivered", "MQLs delivered"
        MQL_TO_SQL_RATE = "mql_to_sql_rate", "MQL → SQL rate"
        FIRST_ATTEMPT_COMPLIANCE = "first_attempt_compliance", "First-attempt compliance"

    RATE_METRICS = (Metric.MQL_TO_SQL_RATE, Metric.FIRST_ATTEMPT_COMPLIANCE)

    title = models.CharField(max_length=200)
    metric = models.CharField(max_length=30, choices=Metric.choices)
    target = models.DecimalField(max_digits=14, decimal_places=2,
                                 help_text="A count, an amount, or a percentage for the rates.")
    period_start = models.DateField()
    period_end = models.DateField()
    teams = models.ManyToManyField(Team, related_name="sla_goals")
    description = models.TextField(blank=True, help_text="Why it matters and how the teams get there.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_end", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="goal_period_ordered",
                                   violation_error_message="The period must end on or after its start."),
            models.CheckConstraint(condition=Q(target__gt=0), name="goal_target_positive",
                                   violation_error_message="Give a target above zero."),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_rate(self) -> bool:
        return self.metric in self.RATE_METRICS

    def covers(self, day: date) -> bool:
        return self.period_start <= day <= self.period_end
