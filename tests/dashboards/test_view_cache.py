"""The minute of caching the dashboards keep (DASHBOARD_CACHE_SECONDS): a repeated view reads its figures and
their HTML from the cache, what differs per person (edit rights, forms, CSRF tokens) is never shared, and
what a person just wrote on a meeting page shows at once."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from dashboards.models import ActionItem
from leads.models import Objection
from tests.factories import LeadFactory, StageChangeFactory

NOW = "2026-03-18 12:00:00"  # Wednesday; this week's meeting is on Monday 16 March
WEEK_3 = date(2026, 3, 16)
FEEDBACK_URL = "/dashboard/feedback/?period=this_month"
EDIT_HINT = "Add a case study, a calculator or a page that answers it"


@pytest.fixture(autouse=True)
def _view_cache_on(settings):
    settings.DASHBOARD_CACHE_SECONDS = 60


@freeze_time(NOW)
def test_a_repeated_dashboard_view_runs_only_the_sign_in_queries(marketer, client_for, count_queries):
    LeadFactory(source="webinar")
    client = client_for(marketer)
    queries = [count_queries(client, url) for url in (FEEDBACK_URL, reverse("dashboards:compliance"),
                                                    reverse("dashboards:goals"),
                                                    reverse("meetings:monthly_report", args=[date(2026, 2, 1)]))]

    # The page shell only (the signed-in person with their team, their unread notifications): the panels' figures and HTML
    # come from the cache.
    assert queries == [2, 2, 2, 2]


@freeze_time(NOW)
def test_the_cached_feedback_panels_keep_each_persons_edit_rights(marketer, sales_rep, client_for):
    Objection.objects.create(label="Too expensive")  # no content answers it: editors get a hint

    assert EDIT_HINT in client_for(marketer).get(FEEDBACK_URL).content.decode()
    assert EDIT_HINT not in client_for(sales_rep).get(FEEDBACK_URL).content.decode()
    assert EDIT_HINT in client_for(marketer).get(FEEDBACK_URL).content.decode()


@freeze_time(NOW)
def test_the_meeting_page_shows_a_new_action_item_at_once_with_a_fresh_csrf_token(marketer, sales_rep, client_for):
    StageChangeFactory(lead=LeadFactory(), to_stage="mql")
    client = client_for(marketer)
    url = reverse("meetings:weekly", args=[WEEK_3])
    client.get(url)  # the agenda is now cached

    client.post(reverse("meetings:action_add", args=["weekly", WEEK_3]),
                {"title": "Call back the rejected leads", "owner": sales_rep.pk, "due_on": "2026-03-20"})
    html = client.get(url).content.decode()

    assert "Call back the rejected leads" in html and "Last week’s numbers" in html
    # Another person's page carries their own CSRF token: their form posts go through.
    other = Client(enforce_csrf_checks=True)
    other.force_login(sales_rep)
    other.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', other.get(url).content.decode()).group(1)
    item = ActionItem.objects.get()
    done = other.post(reverse("meetings:action_done", args=[item.pk]),
                      {"done": "1", "kind": "weekly", "start": "2026-03-16", "csrfmiddlewaretoken": token})
    assert done.status_code == 302
    assert ActionItem.objects.get().done_at is not None
