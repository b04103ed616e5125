"""Demo data of the SLA contract: a signed v1 with a Berlin business calendar and a few shared goals.

sla_seed() is idempotent: with an SLA already there it changes nothing and returns the version in force.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from leads.models import Stage, StageChange
from scoring.models import Persona, VersionStatus
from sla.contract_selectors import month_last_day, quarter_of
from sla.contract_services import DEFAULT_PROTOCOL, DEFAULT_RESPONSIBILITIES
from sla.models import BusinessCalendar, Goal, SlaVersion
from smarketing.audit import audit_record
from smarketing.models import Team, User
from smarketing.roles import Function, Role


@transaction.atomic
def sla_seed(
    *, marketing_manager: User | None = None, sales_manager: User | None = None, now: datetime | None = None,
    time_zone: str = "Europe/Berlin", holiday_country: str = "DE",
) -> SlaVersion | None:
    """Signs SLA v1 (Mon–Fri 9–17 in `time_zone`, public holidays of `holiday_country`) and sets three goals.

    The managers default to the first active marketing and sales managers; without both, nothing is
    made (an SLA needs both signatures) and None is returned.
    """
    existing = SlaVersion.objects.filter(status=VersionStatus.ACTIVE).first()
    if existing or SlaVersion.objects.exists():
        return existing
    marketing_manager = marketing_manager or User.objects.filter(
        role=Role.MARKETING_MANAGER, is_active=True).order_by("pk").first()
    sales_manager = sales_manager or User.objects.filter(role=Role.SALES_MANAGER, is_active=True).order_by("pk").first()
    if marketing_manager is None or sales_manager is None:
        return None
    now = now or timezone.now()
    signed_at = now - timedelta(days=60)
    volume = _volume(now)
    calendar = BusinessCalendar.objects.create(
        time_zone=time_zone, working_weekdays=[0, 1, 2, 3, 4], opens_at=time(9), closes_at=time(17),
        holiday_country=holiday_country,
    )
    version = SlaVersion.objects.create(
        number=1, status=VersionStatus.ACTIVE, calendar=calendar, created_by=marketing_manager,
        created_at=signed_at - timedelta(days=3),
        note="Our first SLA: the numbers from last quarter's funnel, reviewed at the end of the half-year.",
        mqls_per_month=volume.mqls_per_rep, mql_basis=SlaVersion.MqlBasis.PER_REP,
        pipeline_value_per_month=volume.pipeline_per_month,
        min_acceptance_rate=70, first_attempt_hours=6, attempts_required=4, attempts_within_days=12,
        auto_recycle=True, stale_after_days=14,
        personas_text="Operations and IT leaders at mid-sized companies (50–1,000 employees) in the DACH region "
                      "and the Nordics who evaluate a tool this quarter.",
        responsibilities_text=DEFAULT_RESPONSIBILITIES, protocol_text=DEFAULT_PROTOCOL,
        review_on=(now + timedelta(days=120)).date(),
        marketing_signed_by=marketing_manager, marketing_signed_at=signed_at - timedelta(hours=2),
        sales_signed_by=sales_manager, sales_signed_at=signed_at, activated_at=signed_at,
    )
    version.personas.set(Persona.objects.filter(is_active=True)[:3])
    audit_record(actor=sales_manager, action="sla.activate", target=version, summary="SLA v1 took effect (demo)")
    _goals_seed(now=now, author=marketing_manager, volume=volume)
    return version


@dataclass(frozen=True)
class _Volume:
    """The demo organisation's own pace, so the SLA and goals it signs look like numbers a team would pick."""

    mqls_per_rep: int
    pipeline_per_month: Decimal
    opportunities_per_quarter: int
    revenue_per_quarter: Decimal


def _volume(now: datetime) -> _Volume:
    since = now - timedelta(days=90)
    moves = StageChange.objects.filter(changed_at__gte=since, changed_at__lt=now)
    mqls_a_month = moves.filter(to_stage=Stage.MQL).count() / 3
    opportunities = moves.filter(to_stage=Stage.OPPORTUNITY).count()
    reps = User.objects.filter(role=Role.SALES_REP, is_active=True).count() or 1
    deal = Decimal(25_000)
    return _Volume(
        # A little above the recent pace, a commitment marketing has to work for; but MQLs count when handed
        # off, and reps take only so many at once (capacity), so no more than 45 a rep a month.
        mqls_per_rep=max(5, min(45, round(mqls_a_month * 1.05 / reps))),
        pipeline_per_month=max(Decimal(100_000), (Decimal(opportunities) / 3 * deal).quantize(Decimal("1E4"))),
        opportunities_per_quarter=max(10, round(opportunities * 1.1)),
        revenue_per_quarter=max(Decimal(100_000), (opportunities * deal * Decimal("0.3")).quantize(Decimal("1E4"))),
    )


def _goals_seed(*, now: datetime, author: User, volume: _Volume) -> None:
    today = now.date()
    quarter_start, quarter_end = quarter_of(today)
    month_start = today.replace(day=1)
    month_end = month_last_day(month_start)
    marketing = list(Team.objects.filter(function=Function.MARKETING))
    sales = list(Team.objects.filter(function=Function.SALES))
    goals = [
        (Goal(title="New opportunities this quarter", metric=Goal.Metric.NEW_OPPORTUNITIES,
              target=Decimal(volume.opportunities_per_quarter),
              period_start=quarter_start, period_end=quarter_end,
              description="Both teams: enough pipeline to reach the half-year number."), marketing + sales),
        (Goal(title="MQLs delivered this month", metric=Goal.Metric.MQLS_DELIVERED,
              target=Decimal(volume.mqls_per_rep * max(1, User.objects.filter(role=Role.SALES_REP, is_active=True).count())),
              period_start=month_start, period_end=month_end), marketing),
        (Goal(title="First attempts on time", metric=Goal.Metric.FIRST_ATTEMPT_COMPLIANCE, target=Decimal(90),
              period_start=month_start, period_end=month_end,
              description="Nine in ten handoffs called within the SLA's business hours."), sales),
        (Goal(title="Revenue won this quarter", metric=Goal.Metric.REVENUE_WON, target=volume.revenue_per_quarter,
              period_start=quarter_start, period_end=quarter_end), marketing + sales),
    ]
    for goal, teams in goals:
        goal.created_by = author
        goal.save()
        goal.teams.set(teams)
