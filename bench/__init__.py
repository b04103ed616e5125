"""Benchmarks: modules run as `python -m bench.<name>` that print progress and end with one JSON line."""

import json
import os
from typing import Any


def setup_django() -> None:
    """Configures Django from the environment (DATABASE_URL, ...) as manage.py does."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
    import django

    django.setup()


def emit(bench: str, **figures: Any) -> None:
    """Prints the benchmark's one JSON line: its name, then its figures (DESIGN.md, Testing, names the keys)."""
    print(json.dumps({"bench": bench, **figures}), flush=True)
