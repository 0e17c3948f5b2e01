"""Secure by default: what the web app refuses without its secrets, and that logins work."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.core.management import call_command

from .conftest import PROJECT_ROOT


def _run(args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(env_overrides)
    return subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


PRODUCTION = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "admin.example.com"}


def test_check_deploy_is_clean_under_production_settings():
    result = _run([sys.executable, "manage.py", "check", "--deploy"], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_refuses_a_missing_secret_key_in_one_line():
    result = _run([sys.executable, "manage.py", "check", "--deploy"], DJANGO_ALLOWED_HOSTS="admin.example.com")
    assert result.returncode != 0
    assert "config.E001) DJANGO_SECRET_KEY is not set: set it in the environment" in result.stderr


def test_the_web_app_refuses_to_start_without_a_secret_key_but_the_update_needs_none():
    refused = _run([sys.executable, "-c", "import config.wsgi"])
    assert refused.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in refused.stderr
    started = _run([sys.executable, "-c", "import config.wsgi"], **PRODUCTION)
    assert started.returncode == 0, started.stderr
    update_help = _run([sys.executable, "manage.py", "update", "--help"])
    assert update_help.returncode == 0, update_help.stderr


def test_debug_is_off_unless_asked_for():
    show = [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)"]
    env = {"DJANGO_SETTINGS_MODULE": "config.settings"}
    assert _run(show, **env).stdout.split() == ["False", "True", "True"]
    assert _run(show, DJANGO_DEBUG="1", **env).stdout.split() == ["True", "False", "False"]


def test_bin_serve_refuses_without_a_secret_key():
    result = _run(["bin/serve"])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bin/serve: DJANGO_SECRET_KEY is not set: set it to a long random value (or use bin/serve --demo)"]


@pytest.mark.django_db
def test_createsuperuser_works_and_the_user_can_log_in(client, settings, monkeypatch, django_user_model):
    settings.SECURE_SSL_REDIRECT = False
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)
    call_command("createsuperuser", "--noinput", username="ops", email="ops@example.com", verbosity=0)
    assert client.login(username="ops", password=password)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_demo_superuser_gets_a_new_random_password_each_time(django_user_model):
    from io import StringIO

    passwords = []
    for _ in range(2):
        out = StringIO()
        call_command("demo_superuser", stdout=out)
        passwords.append(out.getvalue().split("password ")[1].split()[0])
    assert passwords[0] != passwords[1] and len(passwords[0]) >= 16
    user = django_user_model.objects.get(username="demo")
    assert user.is_superuser and user.check_password(passwords[1]) and not user.check_password(passwords[0])
