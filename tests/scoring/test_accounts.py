"""Account scores: a company's best fit, its people's summed engagement, and how many of them engaged."""

from django.urls import reverse

from scoring.selectors import AccountScore, companies_with_account_scores, company_account_score
from tests.factories import CompanyFactory, EngagementRuleFactory, FitRuleFactory, LeadFactory
from tests.scoring.conftest import activity, score


def test_account_score_from_its_people(scoring_version):
    """acme: CTO (fit 40, 2 views = 10), analyst (fit 20, 0), intern (fit 0, 1 view = 5), not scored yet.
    best fit 40, engagement 15, engaged 2 of 3 scored."""
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="cto", points=40)
    FitRuleFactory(version=scoring_version, field="job_title", operator="contains", value="analyst", points=20)
    EngagementRuleFactory(version=scoring_version, points=5)
    acme, other = CompanyFactory(name="Acme"), CompanyFactory(name="Other")
    cto = LeadFactory(company=acme, job_title="CTO")
    analyst = LeadFactory(company=acme, job_title="Analyst")
    intern = LeadFactory(company=acme, job_title="Intern")
    LeadFactory(company=acme, job_title="CTO")  # not scored yet: not counted
    outsider = LeadFactory(company=other, job_title="CTO")
    activity(cto)
    activity(cto)
    activity(intern)
    for _ in range(9):
        activity(outsider)
    score(scoring_version, cto, analyst, intern, outsider)

    assert company_account_score(company=acme) == AccountScore(best_fit=40, engagement=15, engaged_people=2,
                                                               scored_people=3)
    annotated = {c.name: c for c in companies_with_account_scores(type(acme).objects.all())}
    assert (annotated["Acme"].account_best_fit, annotated["Acme"].account_engagement,
            annotated["Acme"].engaged_people) == (40, 15, 2)
    assert (annotated["Other"].account_best_fit, annotated["Other"].account_engagement) == (40, 45)


def test_account_without_scored_people(db):
    assert company_account_score(company=CompanyFactory()) == AccountScore(best_fit=None, engagement=0,
                                                                          engaged_people=0, scored_people=0)


def test_company_page_shows_the_account_score(scoring_version, client_for, sales_rep):
    EngagementRuleFactory(version=scoring_version, points=7)
    FitRuleFactory(version=scoring_version, field="job_title", operator="equals", value="cto", points=33)
    acme = CompanyFactory(name="Acme")
    people = [LeadFactory(company=acme, job_title="CTO"), LeadFactory(company=acme, job_title="Clerk")]
    for lead in people:
        activity(lead)
    score(scoring_version, *people)
    page = client_for(sales_rep).get(reverse("leads:company_detail", args=[acme.pk])).content.decode()
    assert '<div class="stat-value">14</div><div class="stat-label">account engagement' in page
    assert '<div class="stat-value">2</div><div class="stat-label">people engaged' in page
    assert '<div class="stat-value">33</div><div class="stat-label">best fit' in page
