"""The funnel's arithmetic: stage moves per day from the stage history, and what the pages compute from them.

How the funnel counts (the rules the tests pin):

- **Entered a stage** in a period: the moves into that stage in the period (StageChange rows). A lead that
  comes back through a stage it had already been in (recycled, then qualified again) is counted again,
  as *returning*: the page shows how many of the entries were returning.
- **Stage-to-stage conversion** S → T: of the moves *out of* S in the period, the share that went to T.
  A lead that moves back (SAL → recycled) is an exit of S that did not convert; when it comes through S
  again, that is a new pass. So a rate never exceeds 100 %, and leads still sitting in S are not yet
  judged. The first step, lead → MQL, is the moves new → MQL over the leads created in the period (new
  leads wait in `new` indefinitely, so their exits would say little).
- **Velocity** S → T: for each move S → T in the period, the time since the lead entered S (its previous
  stage change); for a lead that came back, the clock starts at its latest entry into S. Median and 80th
  percentile come from a histogram with buckets 4.4 % wide (2^(1/16)), interpolated inside the bucket: within
  4.4 % of the exact value, which is what rollups can add up day by day. With an even number of moves the
  median is the lower middle one (the time by which half the moves were made).
- Days are local days of the organisation's time zone. The lead's source, campaign, persona
  (LeadScore.persona), owner (the rep) and the owner's team are those it has when a day is computed.
"""

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction

from leads.models import Stage

FORWARD = [Stage.NEW.value, Stage.MQL.value, Stage.SAL.value, Stage.SQL.value, Stage.OPPORTUNITY.value,
           Stage.WON.value]
STEPS = list(zip(FORWARD, FORWARD[1:], strict=False))
EXITS = [Stage.LOST.value, Stage.DISQUALIFIED.value, Stage.RECYCLED.value]
STAGE_LABELS = dict(Stage.choices)

# Velocity buckets: 0 holds anything under a minute, bucket k ≥ 1 holds [60·2^((k-1)/16), 60·2^(k/16)) seconds.
BUCKETS_PER_DOUBLING = 16


def velocity_bucket(seconds: float) -> int:
    if seconds < 60:
        return 0
    return 1 + int(math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds / 60.0) + 1e-9))


def _bucket_bounds(bucket: int) -> tuple[float, float]:
    if bucket <= 0:
        return 0.0, 60.0
    return 60.0 * 2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING), 60.0 * 2 ** (bucket / BUCKETS_PER_DOUBLING)


def histogram_percentile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile (0–1) of the durations a histogram holds, interpolated geometrically in its bucket."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count and seen + count >= rank:
            low, high = _bucket_bounds(bucket)
            share = (rank - seen) / count
            if bucket == 0:
                return low + (high - low) * share
            return low * (high / low) ** share
        seen += count
    return _bucket_bounds(max(histogram))[1]


# --- Moves of a span of time, from the stage history ------------------------------------------------------

# One row of the full cross: a day's moves between two stages for one combination of dimensions.
Key = tuple[str, str, str, str, int | None, int | None, int | None]  # from, to, source, campaign, persona, rep, team


@dataclass
class CrossRow:
    moves: int = 0
    returning: int = 0
    won_amount: Decimal = Decimal(0)
    velocity: Counter = field(default_factory=Counter)


def _seconds_sql(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _bucket_sql(seconds: str) -> str:
    # The same buckets as velocity_bucket(); LN and FLOOR exist in PostgreSQL and Django's SQLite.
    return (f"CASE WHEN {seconds} IS NULL THEN NULL WHEN {seconds} < 60 THEN 0 "
            f"ELSE 1 + FLOOR({BUCKETS_PER_DOUBLING} * LN({seconds} / 60.0) / LN(2) + 1e-9) END")


def _won_amount_sql() -> str:
    """The won deal of a move into `won`: the amount on the lead's latest handoff with one (sla app)."""
    from django.apps import apps

    try:
        handoff = apps.get_model("sla", "Handoff")
        handoff._meta.get_field("won_amount")
    except (LookupError, Exception):  # noqa: BLE001 - the sla app may not have handoffs yet
        return "NULL"
    table = handoff._meta.db_table
    # The table name comes from the model, never from input.
    return (f"(SELECT h.won_amount FROM {table} h WHERE h.lead_id = sc.lead_id AND h.won_amount IS NOT NULL "  # noqa: S608
            f"ORDER BY h.created_at DESC, h.id DESC LIMIT 1)")


def moves_between(start: datetime, end: datetime) -> dict[Key, CrossRow]:
    """Every stage move in [start, end), grouped by the full cross of dimensions: one set-based query.

    The time since the previous stage change and whether the lead had been in the target stage before
    are correlated look-ups on the (lead, changed_at) index, one per move, inside the same statement.
    """
    forward = " OR ".join(f"(sc.from_stage = '{a}' AND sc.to_stage = '{b}')" for a, b in STEPS)
    # A lead whose history starts after `new` (loaded without its creation) entered new when created.
    seconds = _seconds_sql("x.changed_at", "COALESCE(x.entered_at_change, CASE WHEN x.from_stage = 'new' "
                                           "THEN x.created_at END)")
    # The inner query cannot be flattened into the outer (OFFSET): the look-up of the previous change
    # then runs once per move, not once per mention of its result in the bucket expression.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"
    # Every stage named, so the (to_stage, changed_at) index serves the time range.
    stages = ", ".join(f"'{stage}'" for stage in Stage.values)
    # Every piece formatted in is a constant of this module; the times are parameters.
    sql = f"""
        SELECT x.from_stage, x.to_stage, x.source, x.campaign, x.persona_id, x.owner_id, x.team_id,
               CASE WHEN x.forward = 1 THEN {_bucket_sql(seconds)} END AS bucket, COUNT(*), SUM(x.is_return), SUM(x.won_amount)
        FROM (
            SELECT sc.from_stage, sc.to_stage, sc.changed_at, l.source, l.campaign, ls.persona_id, l.owner_id,
                   u.team_id,
                   CASE WHEN {forward} THEN (
                       SELECT MAX(p.changed_at) FROM leads_stagechange p WHERE p.lead_id = sc.lead_id
                       AND (p.changed_at < sc.changed_at OR (p.changed_at = sc.changed_at AND p.id < sc.id))
                   ) END AS entered_at_change,
                   l.created_at AS created_at, CASE WHEN {forward} THEN 1 ELSE 0 END AS forward,
                   CASE WHEN EXISTS (SELECT 1 FROM leads_stagechange e WHERE e.lead_id = sc.lead_id
                        AND e.to_stage = sc.to_stage
                        AND (e.changed_at < sc.changed_at OR (e.changed_at = sc.changed_at AND e.id < sc.id)))
                        THEN 1 ELSE 0 END AS is_return,
                   CASE WHEN sc.to_stage = 'won' THEN {_won_amount_sql()} END AS won_amount
            FROM leads_stagechange sc
            JOIN leads_lead l ON l.id = sc.lead_id
            LEFT JOIN scoring_leadscore ls ON ls.lead_id = sc.lead_id
            LEFT JOIN smarketing_user u ON u.id = l.owner_id
            WHERE sc.to_stage IN ({stages}) AND sc.changed_at >= %s AND sc.changed_at < %s
            {fence}
        ) x
        GROUP BY x.from_stage, x.to_stage, x.source, x.campaign, x.persona_id, x.owner_id, x.team_id, 8
    """  # noqa: S608
    rows: dict[Key, CrossRow] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # PostgreSQL's JIT compiles this statement's many expressions for ~10 s to save a fraction of
            # that: the query itself runs in about a second on a day of 30,000 moves.
            cursor.execute("SET LOCAL jit = off")
            # A day is a few ten thousand moves out of millions: look their leads and scores up by key
            # (nested loops on the primary keys) instead of hashing the whole lead and score tables.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute(sql, [adapt(start), adapt(end)])
        for from_stage, to_stage, source, campaign, persona, rep, team, bucket, n, returning, amount in cursor:
            row = rows.setdefault((from_stage or "", to_stage, source or "", campaign or "", persona, rep, team),
                                  CrossRow())
            row.moves += n
            row.returning += int(returning or 0)
            row.won_amount += Decimal(str(amount or 0))
            if bucket is not None:
                row.velocity[int(bucket)] += n
    return rows


# --- What a set of moves says ------------------------------------------------------------------------------


@dataclass
class Flow:
    """Moves summed over days and dimensions: what every funnel figure is computed from."""

    moves: Counter = field(default_factory=Counter)  # (from, to) -> n
    returning: Counter = field(default_factory=Counter)  # to -> n
    velocity: dict = field(default_factory=lambda: defaultdict(Counter))  # (from, to) -> {bucket: n}
    won_amount: Decimal = Decimal(0)

    def add(self, from_stage: str, to_stage: str, moves: int, returning: int = 0,
            won_amount: Decimal | int = 0, velocity: dict[int, int] | None = None) -> None:
        self.moves[(from_stage, to_stage)] += moves
        self.returning[to_stage] += returning
        self.won_amount += Decimal(won_amount or 0)
        if velocity:
            self.velocity[(from_stage, to_stage)].update(velocity)

    def merge(self, other: "Flow") -> None:
        self.moves.update(other.moves)
        self.returning.update(other.returning)
        self.won_amount += other.won_amount
        for step, histogram in other.velocity.items():
            self.velocity[step].update(histogram)

    def entered(self, stage: str) -> int:
        return sum(n for (_, to), n in self.moves.items() if to == stage)

    def exits(self, stage: str) -> int:
        return sum(n for (origin, _), n in self.moves.items() if origin == stage)

    def conversion(self, from_stage: str, to_stage: str) -> float | None:
        """Percent; None when nothing left the stage (or, for lead → MQL, no lead was created)."""
        whole = self.entered(Stage.NEW) if from_stage == Stage.NEW else self.exits(from_stage)
        return 100.0 * self.moves[(from_stage, to_stage)] / whole if whole else None

    def velocity_percentile(self, from_stage: str, to_stage: str, q: float) -> float | None:
        return histogram_percentile(self.velocity.get((from_stage, to_stage), {}), q)

    @property
    def is_empty(self) -> bool:
        return not any(self.moves.values())


def velocity_json(histogram: dict[int, int]) -> str:
    return json.dumps({str(k): v for k, v in sorted(histogram.items())}, separators=(",", ":")) if histogram else ""


def velocity_parse(text: str) -> dict[int, int]:
    return {int(k): v for k, v in json.loads(text).items()} if text else {}


def percent_change(current: float | int | None, previous: float | int | None) -> float | None:
    if current is None or not previous:
        return None
    return 100.0 * (current - previous) / previous


def days_in(first: date, last: date) -> Iterable[date]:
    from datetime import timedelta

    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
