"""Handoffs of MQLs to sales reps and the routing rules that choose the rep."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead, Reason, Stage
from scoring.models import Persona
from smarketing.models import Team

__all__ = ["Handoff", "RoutingRule", "RoutingSettings", "RoutingTurn"]


class RoutingRule(models.Model):
    """Which reps may get a lead: the reps of a sales team, narrowed by the lead's persona and country.

    Rules are tried in position order; the first whose conditions the lead meets and that has a rep with
    room (not away, open handoffs below capacity) assigns the lead, round-robin among those reps.
    """

    name = models.CharField(max_length=100)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules",
                             help_text="The sales team whose reps share the leads, in turn.")
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="Only leads that match this persona. Empty: any persona or none.")
    countries = models.JSONField(default=list, blank=True,
                                 help_text="Only leads from these countries (ISO codes). Empty: any country.")
    by_territory = models.BooleanField(
        default=True, help_text="Only reps whose territory covers the lead's country.",
    )
    position = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    # The rule's own clock for round-robin: every assignment takes the next tick (see RoutingTurn).
    turns = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RoutingTurn(models.Model):
    """When a rep last got a lead from a rule, on that rule's clock: the rep waiting longest goes next.

    Least-recently-served rather than a pointer into a list, so a rep who comes back from being away
    or under capacity rejoins the rotation without being flooded or skipped.
    """

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="rep_turns")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_turn = models.PositiveBigIntegerField(default=0)
    assigned = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "rep"], name="routingturn_rule_rep_unique")]

    def __str__(self) -> str:
        return f"{self.rule}: {self.rep} at turn {self.last_turn}"


class RoutingSettings(models.Model):
    """The one row of routing switches (pk=1)."""

    auto_route_new_mqls = models.BooleanField(
        default=False, help_text="Hand new MQLs to a rep by the routing rules, every minute, without review.",
    )
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "routing settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="routingsettings_singleton")]

    def __str__(self) -> str:
        return "Routing settings"


class Handoff(models.Model):
    """An MQL assigned to a sales rep, with what marketing knows about it frozen at that moment.

    A lead has at most one open handoff (pending or accepted). Reassigning closes the open one
    (status reassigned) and opens another that points back to it, so the history stays.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the rep"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        REASSIGNED = "reassigned", "Reassigned"
        CLOSED = "closed", "Closed"

    OPEN_STATUSES = (Status.PENDING, Status.ACCEPTED)

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="handoffs")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs")
    # Empty when routing made the handoff.
    handed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="handoffs_made")
    created_at = models.DateTimeField(default=timezone.now)
    routing_rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="handoffs")
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="next", help_text="The handoff this one reassigned.")
    note = models.TextField(blank=True, help_text="Marketing's note to the rep.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The intelligence summary, frozen when the handoff was made (sla.selectors.handoff_summary_build).
    summary = models.JSONField(default=dict, blank=True)

    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.ForeignKey(Reason, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+", limit_choices_to={"kind": Reason.Kind.REJECTION})
    rejection_comment = models.TextField(blank=True)
    reassigned_at = models.DateTimeField(null=True, blank=True)
    reassigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    reassign_reason = models.CharField(max_length=300, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The stage the lead left sales in (won, lost, disqualified, recycled) when the handoff closed.
    outcome = models.CharField(max_length=20, choices=Stage.choices, blank=True)

    # The deal, once the lead is an opportunity: on the handoff, because a lead recycled and handed
    # off again is a second deal.
    deal_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close_on = models.DateField(null=True, blank=True)
    won_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    # Kept by sla.services from the lead's contact attempts made since the handoff.
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    # When the K-th attempt the SLA asks for was made (attempts_required of them since the handoff).
    attempts_met_at = models.DateTimeField(null=True, blank=True)

    # What the SLA in force set when the handoff was made (sla.deadlines.handoff_deadlines); kept, so a
    # later SLA version never rewrites history. Empty while no SLA is in force.
    first_attempt_due_at = models.DateTimeField(null=True, blank=True)
    attempts_due_at = models.DateTimeField(null=True, blank=True)
    attempts_required = models.PositiveIntegerField(null=True, blank=True)
    sla_version_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The rep's queue: their open handoffs.
            models.Index(fields=["rep", "status"], name="handoff_rep_status_idx"),
            models.Index(fields=["lead", "-created_at"], name="handoff_lead_time_idx"),
            models.Index(fields=["handed_off_by", "-created_at"], name="handoff_by_time_idx"),
        ]
        constraints = [
            # Never two open handoffs for one lead: of two people assigning it at once, one wins.
            models.UniqueConstraint(fields=["lead"], condition=Q(status__in=["pending", "accepted"]),
                                    name="handoff_one_open_per_lead"),
            models.CheckConstraint(condition=Q(status__in=["pending", "accepted", "rejected", "reassigned",
                                                           "closed"]),
                                   name="handoff_status_valid"),
            models.CheckConstraint(condition=~Q(status="rejected") | Q(rejection_reason__isnull=False),
                                   name="handoff_rejection_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.lead} → {self.rep}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def next_due_at(self):
        """The next SLA deadline not yet met: the first attempt, then the K attempts."""
        if self.first_attempt_at is None:
            return self.first_attempt_due_at
        if self.attempts_required and self.attempt_count < self.attempts_required:
            return self.attempts_due_at
        return None
