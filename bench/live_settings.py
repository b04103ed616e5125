"""The production settings for a gunicorn started by bench.live (load test, fault tests), except one thing.

Static files are served by WhiteNoise from the source tree (its finders) instead of a collectstatic
tree: collectstatic with compression takes minutes on two cores, and the load test requests pages, not
assets. Everything else, DEBUG off included, is smarketing.settings as production runs it.
"""

from smarketing.settings import *  # noqa: F403

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
