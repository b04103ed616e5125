import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_live_cache():
    # Live figures are cached for a minute; each test starts from its own data.
    cache.clear()
    yield
    cache.clear()
