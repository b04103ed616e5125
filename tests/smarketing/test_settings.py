"""Settings come from environment variables, parsed strictly: a bad value stops the start with its name.

Each case starts a fresh interpreter, because settings are read once per process.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IMPROPERLY_CONFIGURED = "django.core.exceptions.ImproperlyConfigured: "

# Variables the settings read; the parent's values (e.g. CI's DATABASE_URL) must not leak into a case.
SETTINGS_VARIABLES = (
    "DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "REDIS_URL",
    "DJANGO_HTTPS", "SECURE_HSTS_SECONDS", "CELERY_TASK_ALWAYS_EAGER", "TIME_ZONE", "LOG_LEVEL", "EMAIL_BACKEND",
    "LOGIN_FAILURES_PER_ACCOUNT", "LOGIN_FAILURES_PER_ADDRESS", "TRUSTED_PROXY_COUNT", "RESCORE_WORKERS",
)
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    # 50+ characters, many distinct ones, no "django-insecure-" prefix: what check --deploy asks for.
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "smarketing.example.com",
}
# Reading one setting imports the settings module, where every variable is parsed.
PRINT_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], sep='|')"
)
# Logging is configured only when Django sets itself up.
SET_UP = "import django; django.setup()"


@pytest.fixture
def run(tmp_path):
    def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
        # Browser tests may have set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deploy check must not see it.
        environ = {key: value for key, value in os.environ.items()
                   if key not in SETTINGS_VARIABLES and key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        environ.update(DJANGO_SETTINGS_MODULE="smarketing.settings", SMARKETING_VAR_DIR=str(tmp_path), **env)
        # Our own interpreter running our own manage.py or a fixed snippet: no untrusted input.
        return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=environ,  # noqa: S603
                              capture_output=True, text=True, timeout=60, check=False)

    return run


def configuration_error(result: subprocess.CompletedProcess) -> str:
    """The ImproperlyConfigured message the process died with."""
    assert result.returncode != 0, result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(IMPROPERLY_CONFIGURED), result.stderr
    return last_line.removeprefix(IMPROPERLY_CONFIGURED)


def test_with_nothing_set_the_app_runs_embedded_on_sqlite_in_the_var_dir(run, tmp_path):
    result = run(["-c", PRINT_SETTINGS])

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"True|django.db.backends.sqlite3|{tmp_path / 'smarketing.sqlite3'}"


@pytest.mark.parametrize(("raw", "debug"), [("TRUE", "True"), (" yes ", "True"), ("Off", "False"), ("", "True")])
def test_django_debug_reads_the_usual_spellings(raw, debug, run):
    result = run(["-c", PRINT_SETTINGS], **{**PRODUCTION, "DJANGO_DEBUG": raw})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|")[0] == debug


@pytest.mark.parametrize("raw", ["maybe", "2"])
def test_an_unreadable_django_debug_is_refused_by_name(raw, run):
    message = configuration_error(run(["-c", PRINT_SETTINGS], DJANGO_DEBUG=raw))

    assert message.startswith(f"DJANGO_DEBUG={raw!r}")


@pytest.mark.parametrize(("missing", "env"), [
    ("SECRET_KEY", {"DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "smarketing.example.com"}),
    ("SECRET_KEY", {"DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "smarketing.example.com", "SECRET_KEY": "   "}),
    ("ALLOWED_HOSTS", {"DJANGO_DEBUG": "0", "SECRET_KEY": PRODUCTION["SECRET_KEY"]}),
    ("ALLOWED_HOSTS", {"DJANGO_DEBUG": "0", "SECRET_KEY": PRODUCTION["SECRET_KEY"], "ALLOWED_HOSTS": " , "}),
])
def test_production_refuses_to_start_without_its_secret_and_hosts(missing, env, run):
    message = configuration_error(run(["-c", PRINT_SETTINGS], **env))

    assert message.startswith(missing)


def test_production_settings_pass_the_deployment_checklist(run):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checklist_catches_a_weak_secret_key(run):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 **{**PRODUCTION, "SECRET_KEY": "short"})

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.parametrize("url", ["garbage", "foo://bar/baz", "postgres://user@host:notaport/db"])
def test_an_unreadable_database_url_is_refused_by_name(url, run):
    message = configuration_error(run(["-c", PRINT_SETTINGS], DATABASE_URL=url))

    assert message.startswith("DATABASE_URL")


def test_database_url_selects_postgresql(run):
    result = run(["-c", PRINT_SETTINGS], DATABASE_URL="postgres://smarketing@db.internal:5432/smarketing")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True|django.db.backends.postgresql|smarketing"


@pytest.mark.parametrize(("name", "raw"), [("SECURE_HSTS_SECONDS", "a year"), ("DJANGO_HTTPS", "sometimes"),
                                           ("CELERY_TASK_ALWAYS_EAGER", "eager")])
def test_other_unreadable_variables_are_refused_by_name(name, raw, run):
    message = configuration_error(run(["-c", PRINT_SETTINGS], **{**PRODUCTION, name: raw}))

    assert message.startswith(f"{name}={raw!r}")


@pytest.mark.parametrize(("name", "raw"), [
    ("LOGIN_FAILURES_PER_ACCOUNT", "101"),  # OWASP ASVS V2.2.1: at most 100 an hour
    ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
    ("LOGIN_FAILURES_PER_ADDRESS", "0"),
    ("LOGIN_FAILURES_PER_ADDRESS", "many"),
    ("TRUSTED_PROXY_COUNT", "-1"),
    ("RESCORE_WORKERS", "0"),
    ("RESCORE_WORKERS", "two"),
])
def test_counts_out_of_range_are_refused_by_name(name, raw, run):
    message = configuration_error(run(["-c", PRINT_SETTINGS], **{name: raw}))

    assert message.startswith(f"{name}=")


@pytest.mark.parametrize(("env", "proxies"), [
    ({}, "0"),                                   # embedded: clients connect directly
    (PRODUCTION, "1"),                           # production: behind the HTTPS proxy
    ({**PRODUCTION, "DJANGO_HTTPS": "0"}, "0"),  # trying the stack on plain http, no proxy
    ({**PRODUCTION, "TRUSTED_PROXY_COUNT": "2"}, "2"),
])
def test_sign_in_throttling_counts_the_address_behind_the_proxies_in_front(env, proxies, run):
    result = run(["-c", "from django.conf import settings; print(settings.TRUSTED_PROXY_COUNT)"], **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == proxies


def test_production_sends_a_content_security_policy_without_inline_script(run):
    # The health check: a page that needs neither a user nor collected static files.
    show_policy = ("import django; django.setup(); from django.test import Client; "
                   "print(Client().get('/health/', secure=True)['Content-Security-Policy'])")
    result = run(["-c", show_policy], **{**PRODUCTION, "ALLOWED_HOSTS": "testserver"})

    assert result.returncode == 0, result.stderr
    directives = dict(part.strip().split(" ", 1) for part in result.stdout.strip().split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"


@pytest.mark.parametrize(("name", "raw"), [("TIME_ZONE", "Mars/Olympus_Mons"), ("LOG_LEVEL", "LOUD")])
def test_an_unreadable_time_zone_or_log_level_is_refused_by_name(name, raw, run):
    message = configuration_error(run(["-c", SET_UP], **{name: raw}))

    assert name in message
