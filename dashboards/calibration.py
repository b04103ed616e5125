"""Scoring calibration: does the score in force separate the leads that turned out good from the bad ones?

Outcomes come from the stage history:
- acceptance: good = sales accepted the lead (it reached SAL at least once); bad = it left MQL for nurture or
  disqualification without ever being accepted;
- win: good = won; bad = lost and never won.

From the leads with a known outcome (the most recent MAX_LEADS of them) this computes the ROC AUC of the
total score, the good-lead rate per score band, each rule's lift (good rate of the leads it fired on over
the rate of those it did not), and suggested points from an L2-regularised logistic regression on the
rules' hits (fired or not), scaled so the points keep the size they have now.
"""

import json
import math
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from leads.models import Stage
from scoring.models import ScoringVersion

# Enough outcomes to say anything: fewer, and the page says how many more it needs.
MIN_OUTCOMES = 100
MIN_EACH_CLASS = 20
# A rule needs this many leads on each side (fired / not fired) to get a lift and a suggestion.
MIN_RULE_HITS = 10
# The newest outcomes only: recent leads were scored by rules close to today's, and the fit stays quick
# (100,000 leads × 40 rules is a 4 M-cell matrix: well under a second).
MAX_LEADS = 100_000
SCORE_BANDS = [(None, 0), (0, 20), (20, 40), (40, 60), (60, 80), (80, None)]
L2_PENALTY = 1.0

OUTCOME_SQL = {
    "acceptance": (
        f"MAX(CASE WHEN sc.to_stage = '{Stage.SAL}' THEN 1 ELSE 0 END)",
        f"MAX(CASE WHEN sc.from_stage = '{Stage.MQL}' AND sc.to_stage IN ('{Stage.RECYCLED}', '{Stage.DISQUALIFIED}') "
        "THEN 1 ELSE 0 END)",
        (Stage.SAL, Stage.RECYCLED, Stage.DISQUALIFIED),
    ),
    "win": (
        f"MAX(CASE WHEN sc.to_stage = '{Stage.WON}' THEN 1 ELSE 0 END)",
        f"MAX(CASE WHEN sc.to_stage = '{Stage.LOST}' THEN 1 ELSE 0 END)",
        (Stage.WON, Stage.LOST),
    ),
}


def outcome_rows(outcome: str, limit: int = MAX_LEADS) -> list[tuple[int, str, int]]:
    """(total score, breakdown JSON, 1 good / 0 bad) of the newest leads with a known outcome and a score."""
    good_sql, bad_sql, stages = OUTCOME_SQL[outcome]
    placeholders = ", ".join(["%s"] * len(stages))
    sql = f"""
        SELECT s.total, s.breakdown_json, o.good
        FROM (SELECT sc.lead_id, {good_sql} AS good, {bad_sql} AS bad
              FROM leads_stagechange sc WHERE sc.to_stage IN ({placeholders}) GROUP BY sc.lead_id) o
        JOIN scoring_leadscore s ON s.lead_id = o.lead_id
        WHERE o.good = 1 OR o.bad = 1
        ORDER BY o.lead_id DESC
        LIMIT %s
    """  # noqa: S608 - only constants of this module are formatted in
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")  # compiling it costs more than running it
        cursor.execute(sql, [*stages, limit])
        return [(int(total), breakdown or "{}", int(good)) for total, breakdown, good in cursor.fetchall()]


def roc_auc(scores: list[int], labels: list[int]) -> float | None:
    """The chance that a random good lead scores above a random bad one (ties count half)."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    per_score: dict[int, list[int]] = {}
    for score, label in zip(scores, labels, strict=True):
        counts = per_score.setdefault(score, [0, 0])
        counts[label] += 1
    below = 0.0
    area = 0.0
    for score in sorted(per_score):
        bad, good = per_score[score]
        area += good * (below + 0.5 * bad)
        below += bad
    return area / (positives * negatives)


def logistic_fit(matrix: np.ndarray, labels: np.ndarray, penalty: float = L2_PENALTY,
                 iterations: int = 50) -> np.ndarray:
    """Coefficients (intercept first) of an L2-regularised logistic regression, by Newton's method (IRLS).

    The intercept is not penalised. Stops when the step is below 1e-8.
    """
    rows, columns = matrix.shape
    x = np.hstack([np.ones((rows, 1)), matrix])
    beta = np.zeros(columns + 1)
    ridge = penalty * np.eye(columns + 1)
    ridge[0, 0] = 0.0
    for _ in range(iterations):
        z = np.clip(x @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        gradient = x.T @ (labels - p) - ridge @ beta
        weights = p * (1 - p)
        hessian = (x * weights[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


@dataclass(frozen=True)
class RuleRef:
    key: str  # "fit:3" / "eng:7", as in LeadScore.breakdown
    kind: str  # "fit" / "engagement"
    rule_id: int
    label: str
    points: int


def version_rules(version: ScoringVersion) -> list[RuleRef]:
    return [RuleRef(rule.key, "fit", rule.pk, rule.label, rule.points) for rule in version.fit_rules.all()] + [
        RuleRef(rule.key, "engagement", rule.pk, rule.label, rule.points) for rule in version.engagement_rules.all()]


def calibrate(*, rows: list[tuple[int, str, int]], rules: list[RuleRef]) -> dict:
    """The calibration figures, as plain data (kept as JSON in a CalibrationSnapshot)."""
    labels = [good for _, _, good in rows]
    good_total = sum(labels)
    result: dict = {"outcomes": len(rows), "good": good_total, "bad": len(rows) - good_total,
                    "enough": len(rows) >= MIN_OUTCOMES and min(good_total, len(rows) - good_total) >= MIN_EACH_CLASS}
    if not rows:
        result.update(auc=None, bands=[], rules=[], overall_rate=None)
        return result
    scores = [total for total, _, _ in rows]
    result["overall_rate"] = 100.0 * good_total / len(rows)
    result["auc"] = roc_auc(scores, labels)

    bands = []
    for low, high in SCORE_BANDS:
        members = [good for score, good in zip(scores, labels, strict=True)
                   if (low is None or score >= low) and (high is None or score < high)]
        if members:
            bands.append({"low": low, "high": high, "leads": len(members), "good": sum(members),
                          "rate": 100.0 * sum(members) / len(members)})
    result["bands"] = bands

    hits = np.zeros((len(rows), len(rules)), dtype=np.float64)
    index = {rule.key: column for column, rule in enumerate(rules)}
    for row_number, (_, breakdown, _) in enumerate(rows):
        for key, points in json.loads(breakdown).items():
            column = index.get(key)
            if column is not None and points:
                hits[row_number, column] = 1.0
    y = np.array(labels, dtype=np.float64)
    fired_counts = hits.sum(axis=0)
    usable = [column for column in range(len(rules))
              if fired_counts[column] >= MIN_RULE_HITS and len(rows) - fired_counts[column] >= MIN_RULE_HITS]
    coefficients: dict[int, float] = {}
    if result["enough"] and usable:
        beta = logistic_fit(hits[:, usable], y)
        coefficients = {column: float(beta[position + 1]) for position, column in enumerate(usable)}
    # Points per unit of log-odds: the size today's points have, spread over the fitted effects.
    scale = None
    if coefficients:
        total_points = sum(abs(rules[column].points) for column in coefficients)
        total_effect = sum(abs(value) for value in coefficients.values())
        scale = total_points / total_effect if total_effect else None

    rule_rows = []
    for column, rule in enumerate(rules):
        fired = int(fired_counts[column])
        fired_good = int(y[hits[:, column] == 1].sum()) if fired else 0
        not_fired = len(rows) - fired
        not_fired_good = good_total - fired_good
        rate_fired = 100.0 * fired_good / fired if fired else None
        rate_not = 100.0 * not_fired_good / not_fired if not_fired else None
        lift = rate_fired / rate_not if rate_fired is not None and rate_not else None
        suggested = None
        if column in coefficients and scale is not None:
            suggested = int(round(coefficients[column] * scale))
        rule_rows.append({
            "key": rule.key, "kind": rule.kind, "rule_id": rule.rule_id, "label": rule.label, "points": rule.points,
            "fired": fired, "rate_fired": rate_fired, "rate_not": rate_not, "lift": lift,
            "coefficient": coefficients.get(column), "suggested": suggested,
        })
    rule_rows.sort(key=lambda item: (item["lift"] is None, -(item["lift"] or 0)))
    result["rules"] = rule_rows
    result["scale"] = scale
    return result


def is_number(value) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)
