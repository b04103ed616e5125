import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_live_cache():
    # Live figures are cached for a minute; each test starts from its own data.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_view_cache(settings):
    # A computed view is kept a minute in production; tests read what they just wrote (and count queries).
    settings.DASHBOARD_CACHE_SECONDS = 0
