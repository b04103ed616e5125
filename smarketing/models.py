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
