"""The qualification agreement: personas, scoring versions with their rules, MQL/SQL definition
versions, and each lead's score with its breakdown.

Scoring versions and definition versions are agreements: a draft takes effect only when a marketing
manager and a sales manager have both signed it; the version it replaces is kept for history.
"""

import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import ActivityType, Lead, Seniority


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "In force"
    SUPERSEDED = "superseded", "Superseded"


class SignedVersion(models.Model):
    """A numbered version that both teams sign before it takes effect."""

    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    note = models.TextField(blank=True, help_text="What changes and why.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    marketing_signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    sales_signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    sales_signed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number} ({self.get_status_display().lower()})"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    @property
    def fully_signed(self) -> bool:
        return self.marketing_signed_at is not None and self.sales_signed_at is not None


def _one_per_status(model: str, status: str) -> models.UniqueConstraint:
    # At most one version in force and one draft at a time: everyone edits and reads the same one.
    return models.UniqueConstraint(fields=["status"], condition=Q(status=status), name=f"{model}_one_{status}")


class Persona(models.Model):
    """An agreed description of an ideal buyer, with the criteria that recognise one.

    A persona matches a lead when the lead meets every criterion the persona sets (an empty criterion
    is not checked; a persona that sets none matches nobody). When several match, the one that sets
    more criteria wins; a tie goes to the lower priority number, then to the older persona.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    pains = models.TextField(blank=True)
    goals = models.TextField(blank=True)
    title_keywords = models.JSONField(default=list, blank=True,
                                      help_text="Any of these at the start of a word of the job title matches (case-insensitive).")
    seniorities = models.JSONField(default=list, blank=True)
    company_size_min = models.PositiveIntegerField(null=True, blank=True)
    company_size_max = models.PositiveIntegerField(null=True, blank=True)
    industries = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True, help_text="ISO country codes of the lead.")
    priority = models.PositiveIntegerField(default=100, help_text="Breaks ties between equally specific personas.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        """How many criteria the persona sets; the most specific matching persona wins."""
        return sum([
            bool(self.title_keywords), bool(self.seniorities),
            self.company_size_min is not None or self.company_size_max is not None,
            bool(self.industries), bool(self.countries),
        ])

    def seniority_labels(self) -> list[str]:
        return [Seniority(value).label for value in self.seniorities if value in Seniority.values]


class ScoringVersion(SignedVersion):
    """A set of fit and engagement rules and the grade thresholds, in force once both teams sign."""

    grade_a_min_fit = models.IntegerField(default=60)
    grade_b_min_fit = models.IntegerField(default=35)
    grade_c_min_fit = models.IntegerField(default=15)

    class Meta(SignedVersion.Meta):
        constraints = [
            _one_per_status("scoringversion", VersionStatus.ACTIVE),
            _one_per_status("scoringversion", VersionStatus.DRAFT),
            models.UniqueConstraint(fields=["number"], name="scoringversion_number_unique"),
            models.CheckConstraint(
                condition=Q(grade_a_min_fit__gte=models.F("grade_b_min_fit"))
                & Q(grade_b_min_fit__gte=models.F("grade_c_min_fit")),
                name="scoringversion_grades_ordered",
            ),
        ]


class Operator(models.TextChoices):
    EQUALS = "equals", "equals"
    ONE_OF = "one_of", "is one of"
    CONTAINS = "contains", "contains"
    STARTS_WITH = "starts_with", "starts with"
    BETWEEN = "between", "is between"
    IS_EMPTY = "is_empty", "is empty"
    IS_NOT_EMPTY = "is_not_empty", "is not empty"


class FitRule(models.Model):
    """Points for who the lead is: a condition on a lead, company or custom-property field."""

    version = models.ForeignKey(ScoringVersion, on_delete=models.CASCADE, related_name="fit_rules")
    label = models.CharField(max_length=120)
    field = models.CharField(max_length=120, help_text="e.g. job_title, company.employees, properties.budget, persona")
    operator = models.CharField(max_length=20, choices=Operator.choices)
    value = models.CharField(max_length=500, blank=True,
                             help_text="For “is one of”, values separated by commas; for “is between”, the lower bound.")
    value_to = models.CharField(max_length=100, blank=True, help_text="For “is between”: the upper bound.")
    points = models.IntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label

    @property
    def key(self) -> str:
        """Its name in a score's breakdown."""
        return f"fit:{self.pk}"


class EngagementRule(models.Model):
    """Points for what the lead did: per activity of a type, optionally narrowed, capped and decaying."""

    class UrlMatch(models.TextChoices):
        ANY = "", "any URL"
        CONTAINS = "contains", "URL contains"
        STARTS_WITH = "starts_with", "URL starts with"

    version = models.ForeignKey(ScoringVersion, on_delete=models.CASCADE, related_name="engagement_rules")
    label = models.CharField(max_length=120)
    activity_type = models.CharField(max_length=20, choices=ActivityType.choices)
    url_match = models.CharField(max_length=20, choices=UrlMatch.choices, blank=True, default="")
    url_value = models.CharField(max_length=500, blank=True)
    property_key = models.CharField(max_length=100, blank=True, help_text="e.g. seconds_on_site")
    property_min = models.FloatField(null=True, blank=True, help_text="The property must be at least this.")
    points = models.IntegerField(help_text="Points per matching activity.")
    cap = models.PositiveIntegerField(null=True, blank=True, help_text="Most points this rule gives one lead.")
    half_life_days = models.PositiveIntegerField(
        null=True, blank=True, default=30,
        help_text="An activity this many days old counts half; empty means no decay.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(half_life_days__isnull=True) | Q(half_life_days__gt=0),
                                   name="engagementrule_half_life_positive"),
            models.CheckConstraint(condition=Q(property_key="") | Q(property_min__isnull=False),
                                   name="engagementrule_property_has_min"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def key(self) -> str:
        return f"eng:{self.pk}"


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class LeadScore(models.Model):
    """A lead's score under the scoring version in force, with its breakdown (rule key → points).

    Owned by scoring so that leads never depends on scoring. Written only by the set-based rescoring
    in scoring.services; a rerun over the same data gives the same row.
    """

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="score")
    # Every row of a run names the same version: a foreign-key check and an index entry per row would
    # cost a third of a full rescore's writes for nothing. Deleting a version still meets PROTECT
    # (Django checks it), and only rescoring writes this column, from the version it runs.
    version = models.ForeignKey(ScoringVersion, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    fit = models.IntegerField()
    engagement = models.IntegerField()
    total = models.IntegerField()
    grade = models.CharField(max_length=1, choices=Grade.choices)
    # No index: a handful of personas share a million rows, so no query would use one.
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_index=False)
    conversions = models.PositiveIntegerField(default=0, help_text="Form submissions, all time.")
    # The breakdown as JSON text ({"fit:3": 15, "eng:1": 8}), built by the scoring SQL: a text column,
    # because turning a million breakdowns into jsonb costs more than all the scoring rules together.
    breakdown_json = models.TextField(default="{}")
    computed_at = models.DateTimeField()

    class Meta:
        # Only what reads use: the top scores. Every other index would be rewritten by each rescore.
        indexes = [models.Index(fields=["-total"], name="leadscore_total_idx")]

    def __str__(self) -> str:
        return f"{self.total} ({self.grade})"

    @property
    def breakdown(self) -> dict[str, int]:
        """Rule key → points, for the rules that gave this lead any; the values add up to the total."""
        return {key: int(points) for key, points in json.loads(self.breakdown_json or "{}").items() if points}


class DefinitionVersion(SignedVersion):
    """The agreed criteria for MQL and for SQL. Stage changes it causes name its version."""

    class Meta(SignedVersion.Meta):
        constraints = [
            _one_per_status("definitionversion", VersionStatus.ACTIVE),
            _one_per_status("definitionversion", VersionStatus.DRAFT),
            models.UniqueConstraint(fields=["number"], name="definitionversion_number_unique"),
        ]

    @property
    def label(self) -> str:
        return f"definition v{self.number}"


class Criteria(models.Model):
    """What a lead must meet to be an MQL (or to be SQL-ready), as one row per kind per version."""

    class Kind(models.TextChoices):
        MQL = "mql", "MQL"
        SQL = "sql", "SQL"

    version = models.ForeignKey(DefinitionVersion, on_delete=models.CASCADE, related_name="criteria")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    min_score = models.IntegerField(null=True, blank=True)
    min_fit = models.IntegerField(null=True, blank=True)
    min_engagement = models.IntegerField(null=True, blank=True)
    min_grade = models.CharField(max_length=1, choices=Grade.choices, blank=True,
                                 help_text="This grade or better.")
    persona_required = models.BooleanField(default=False)
    required_fields = models.JSONField(default=list, blank=True,
                                       help_text="Lead fields that must not be empty, e.g. phone, company.")
    min_conversions = models.PositiveIntegerField(default=0, help_text="Form submissions at least.")
    exclude_free_mail = models.BooleanField(default=True)
    exclude_do_not_contact = models.BooleanField(default=True)
    excluded_domains = models.JSONField(default=list, blank=True,
                                        help_text="Competitors and partners: their people never qualify.")

    class Meta:
        ordering = ["kind"]
        verbose_name_plural = "criteria"
        constraints = [models.UniqueConstraint(fields=["version", "kind"], name="criteria_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} criteria of {self.version}"


class VersionComment(models.Model):
    """A remark on a draft by anyone on either team, shown beside it while it is discussed."""

    scoring_version = models.ForeignKey(ScoringVersion, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="comments")
    definition_version = models.ForeignKey(DefinitionVersion, null=True, blank=True, on_delete=models.CASCADE,
                                           related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scoring_version__isnull=True) ^ Q(definition_version__isnull=True),
                name="versioncomment_one_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:60]}"


class RescoreRun(models.Model):
    """One run of the rescoring job: what it covered and how far it got (the UI's progress bar)."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.ForeignKey(ScoringVersion, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    leads_scored = models.PositiveIntegerField(default=0)
    leads_qualified = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    # The newest activity id when the run started: the next incremental run looks at the activities after it
    # (their primary key finds them; a new activity no longer touches its lead's indexed updated_at).
    activity_watermark = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} rescore of {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        if self.finished_at:
            return 100
        return int(100 * self.chunks_done / self.chunks_total) if self.chunks_total else 0


class RescoreRunChunk(models.Model):
    """One chunk of a run, done. A chunk delivered twice (its worker killed after the work, before the
    acknowledgement; Celery then delivers it again) counts once, so a run is finished only when every one
    of its chunks is."""

    run = models.ForeignKey(RescoreRun, on_delete=models.CASCADE, related_name="+")
    id_from = models.BigIntegerField()
    finished_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "id_from"], name="rescore_chunk_once_per_run")]

    def __str__(self) -> str:
        return f"Chunk from lead {self.id_from} of run {self.run_id}"
