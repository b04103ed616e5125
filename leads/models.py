from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from leads.identity import ERASED_EMAIL_DOMAIN


class Stage(models.TextChoices):
    """Where a lead stands in the funnel. Changed only by leads.services.lead_change_stage."""

    NEW = "new", "New"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    DISQUALIFIED = "disqualified", "Disqualified"
    RECYCLED = "recycled", "Recycled"


class Seniority(models.TextChoices):
    ENTRY = "entry", "Entry level"
    INDIVIDUAL = "individual", "Individual contributor"
    MANAGER = "manager", "Manager"
    DIRECTOR = "director", "Director"
    VP = "vp", "VP"
    C_LEVEL = "c_level", "C-level"
    OWNER = "owner", "Owner / founder"


class ActivityType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    CLICK = "click", "Click"
    FORM_SUBMISSION = "form_submission", "Form submission"
    EMAIL_OPEN = "email_open", "E-mail open"
    EMAIL_CLICK = "email_click", "E-mail click"
    DOWNLOAD = "download", "Download"
    WEBINAR = "webinar", "Webinar"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    OTHER = "other", "Other"


class Company(models.Model):
    """An account. Its domain is normalised and unique; free-mail domains never make a company."""

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, unique=True, null=True, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. DE")
    annual_revenue = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        indexes = [models.Index(Lower("name"), name="company_name_lower_idx")]
        constraints = [
            # Domains are stored lower-case without "www."; this keeps a second spelling out.
            models.CheckConstraint(condition=Q(domain=Lower("domain")), name="company_domain_lower"),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    """A person who showed interest. The e-mail is normalised (trimmed, lower case) and unique."""

    email = models.EmailField(max_length=320, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. DE")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")

    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)

    # No index of its own: lead_owner_stage_idx (owner, stage) serves every lookup by owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_leads",
        db_index=False,
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    do_not_contact = models.BooleanField(default=False)
    # Whatever a team tracks that has no field of its own (budget, a form's answers, ...).
    properties = models.JSONField(default=dict, blank=True)
    # A capture of this e-mail while the lead already sat past `new`: flagged, never reset.
    duplicate_attempts = models.PositiveIntegerField(default=0)
    last_duplicate_attempt_at = models.DateTimeField(null=True, blank=True)
    # sha256 of the last capture's normalised input: the same capture again (a retried API request, a
    # re-run import, a nightly CRM sync of an unchanged record) is a replay and changes nothing.
    # Nullable so that bulk loaders which do not know the column (COPY) leave it empty.
    capture_fingerprint = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["stage", "-created_at"], name="lead_stage_created_idx"),
            models.Index(fields=["owner", "stage"], name="lead_owner_stage_idx"),
            models.Index(fields=["-created_at"], name="lead_created_idx"),
            # The rescoring job finds leads changed since its last run through this index.
            models.Index(fields=["updated_at"], name="lead_updated_idx"),
            models.Index(fields=["source"], name="lead_source_idx"),
            models.Index(fields=["campaign"], name="lead_campaign_idx"),
            models.Index(fields=["country"], name="lead_country_idx"),
            models.Index(Lower("last_name"), name="lead_last_name_lower_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="lead_email_lower"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="lead_stage_valid"),
        ]

    def __str__(self) -> str:
        if self.is_erased:
            return f"Erased lead #{self.pk}"
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_erased(self) -> bool:
        """Its personal data was erased on request (leads.services_privacy): the address is a placeholder."""
        return self.email.endswith(f"@{ERASED_EMAIL_DOMAIN}")

    @property
    def is_closed(self) -> bool:
        return self.stage in {Stage.WON, Stage.LOST, Stage.DISQUALIFIED}


class Activity(models.Model):
    """One behavioural event of a lead. Append-only: never updated, never deleted one by one."""

    # No index of its own: activity_lead_time_idx (lead, -occurred_at) serves every lookup by lead, and one
    # index fewer to maintain on the busiest insert path.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities", db_index=False)
    type = models.CharField(max_length=20, choices=ActivityType.choices)
    occurred_at = models.DateTimeField()
    url = models.CharField("URL or asset", max_length=2000, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The sender's own id for the event, when it has one (the API's `event_id`).
    event_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL: no id sent
    # sha256 of the event id, or of (type, occurred_at, url): the same event sent twice is kept once.
    # NULL for rows loaded without one (bulk seeding), which the unique constraint lets through.
    dedupe_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = "activities"
        indexes = [
            # The lead page's timeline, newest first.
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time_idx"),
            # Scoring and rollups scan one type over a time window.
            models.Index(fields=["type", "occurred_at"], name="activity_type_time_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead", "dedupe_key"], name="activity_lead_dedupe_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Reason(models.Model):
    """An entry of an editable list of reasons: why a lead was disqualified, rejected by sales or lost."""

    class Kind(models.TextChoices):
        DISQUALIFICATION = "disqualification", "Disqualification"
        REJECTION = "rejection", "Rejection by sales"
        LOSS = "loss", "Loss"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["kind", "position", "label"]
        constraints = [models.UniqueConstraint(Lower("label"), "kind", name="reason_label_unique_per_kind")]

    def __str__(self) -> str:
        return self.label


class StageChange(models.Model):
    """One move of a lead between stages. Funnel metrics are computed from these rows."""

    # No index of its own: stagechange_lead_time_idx (lead, -changed_at) serves every lookup by lead.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes", db_index=False)
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    # Empty when the system made the change (qualification, SLA recycling, import).
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-changed_at"], name="stagechange_lead_time_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_stage_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '∅'} → {self.to_stage}"

class Objection(models.Model):
    """A reason a prospect gave for not buying (yet), from an editable list that reps may add to."""

    label = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["label"]
        # "Too expensive" and "too expensive " are one objection, or the ranking splits its count.
        constraints = [models.UniqueConstraint(Lower("label"), name="objection_label_unique")]

    def __str__(self) -> str:
        return self.label


class ObjectionAnswer(models.Model):
    """A piece of content that answers an objection (a case study, an ROI calculator, a security page)."""

    objection = models.ForeignKey(Objection, on_delete=models.CASCADE, related_name="answers")
    title = models.CharField(max_length=200)
    url = models.URLField("URL", max_length=500)
    note = models.CharField(max_length=500, blank=True, help_text="When and how to use it, in a sentence.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["objection", "title", "id"]

    def __str__(self) -> str:
        return self.title


class AttemptChannel(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"
    LINKEDIN = "linkedin", "LinkedIn"
    MEETING = "meeting", "Meeting"
    OTHER = "other", "Other"


class AttemptOutcome(models.TextChoices):
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Voicemail"
    CONNECTED = "connected", "Connected"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    NOT_INTERESTED = "not_interested", "Not interested"
    WRONG_CONTACT = "wrong_contact", "Wrong contact"


class ContactAttempt(models.Model):
    """One sales touch on a lead: how, what came of it, when. Logged by the rep, never in the future."""

    Channel = AttemptChannel
    Outcome = AttemptOutcome

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="contact_attempts")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contact_attempts")
    channel = models.CharField(max_length=20, choices=AttemptChannel.choices)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    notes = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    objection = models.ForeignKey(Objection, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="contact_attempts")
    # The form's one-time key: a double click or a resubmitted form sends the same key, and the second
    # insert finds the first instead of logging the attempt twice.
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="attempt_lead_time_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=AttemptChannel.values), name="attempt_channel_valid"),
            models.CheckConstraint(condition=Q(outcome__in=AttemptOutcome.values), name="attempt_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_outcome_display()}"


class FeedbackKind(models.TextChoices):
    REJECTION = "rejection", "Rejected"
    LOSS = "loss", "Lost"
    DISQUALIFICATION = "disqualification", "Disqualified"
    RECYCLING = "recycling", "Sent back to nurture"
    WIN = "win", "Won"
    GENERAL = "general", "Feedback"


class Feedback(models.Model):
    """Sales' verdict on a lead: quality 1–5, why, in words. Required on rejecting or losing a lead."""

    Kind = FeedbackKind

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback_given")
    kind = models.CharField(max_length=20, choices=FeedbackKind.choices, default=FeedbackKind.GENERAL)
    quality = models.PositiveSmallIntegerField(help_text="How good the lead was, 1 (poor) to 5 (excellent).")
    reason = models.ForeignKey(Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback")
    text = models.TextField(blank=True)
    objection = models.ForeignKey(Objection, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="feedback")
    created_at = models.DateTimeField(default=timezone.now)
    # When someone in marketing marked it read in the feedback inbox.
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="feedback_lead_time_idx"),
            models.Index(fields=["-created_at"], name="feedback_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quality__gte=1) & Q(quality__lte=5), name="feedback_quality_1_to_5"),
            models.CheckConstraint(condition=Q(kind__in=FeedbackKind.values), name="feedback_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.quality}/5"


class LeadImport(models.Model):
    """One CSV file a person imports: its shape, the column mapping they chose, and the job's progress."""

    class Status(models.TextChoices):
        MAPPING = "mapping", "Choosing columns"
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=40)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    # One target per column: a lead field, "property" (kept as a custom property) or "drop".
    mapping = models.JSONField(default=list)
    existing = models.CharField("Leads that already exist", max_length=10, default="update",
                                choices=[("update", "Update them"), ("skip", "Skip them")])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    # The rows are split into this many parts, imported at once by as many workers (LeadImportPart).
    parts = models.PositiveSmallIntegerField(default=1)
    # Progress: data rows read and committed, and how far into the file they reach (the bar).
    rows_done = models.PositiveIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.bytes_done / self.size)) if self.size else 0

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}


class LeadImportPart(models.Model):
    """One part of an import: the rows that fall to it (by company name, else by e-mail: see
    leads.import_services.part_of_row), imported by one worker, resumable on its own.

    The import's counts add up its parts' batches; it is done when every part is.
    """

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=LeadImport.Status.choices, default=LeadImport.Status.QUEUED)
    # The part's own rows committed: a restarted worker skips them.
    rows_done = models.PositiveIntegerField(default=0)
    # How far into the file the part has read; the import's bar shows the part furthest behind.
    bytes_done = models.PositiveBigIntegerField(default=0)
    # Moves with every committed batch: a running part whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead_import", "number"], name="leadimport_part_once")]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="leadimport_part_status_idx")]

    def __str__(self) -> str:
        return f"part {self.number + 1} of import {self.lead_import_id}"


class LeadImportRejection(models.Model):
    """A row an import could not keep, with where it is in the file and why: the downloadable report."""

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["lead_import", "line"]
        indexes = [models.Index(fields=["lead_import", "line"], name="leadimport_rejection_idx")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
