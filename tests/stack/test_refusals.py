"""airflow-init refuses settings that would publish a known login or break the database URLs.

Each case runs the real airflow-init service (`compose run --no-deps`, no database): a refusal must
come before anything else, so the stack never starts with those settings.
"""

from __future__ import annotations

import pytest
from support.stack import Stack

REFUSED = "refusing to start"


@pytest.fixture(scope="module")
def init_stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("refusals"))
    stack.build()
    try:
        yield stack
    finally:
        stack.down()


def run_init(stack: Stack, monkeypatch, **settings: str):
    for name, value in settings.items():
        monkeypatch.setitem(stack.env, name, value)
    # Without a database a passing check ends at the database wait; 1 s is enough to see that.
    return stack.compose("run", "--rm", "--no-deps", "-e", "AIRFLOW_LITE_DB_WAIT_SECONDS=1",
                         "airflow-init", check=False, timeout=120)


STRONG = "Str0ng-and-l0ng-Passw0rd"


@pytest.mark.stack
@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.20"])
def test_default_admin_password_is_refused_off_loopback(init_stack, monkeypatch, bind):
    result = run_init(init_stack, monkeypatch, AIRFLOW_WEB_BIND=bind, POSTGRES_PASSWORD=STRONG)
    assert result.returncode != 0
    assert REFUSED in result.stderr and "AIRFLOW_ADMIN_PASSWORD" in result.stderr, result.stderr


@pytest.mark.stack
def test_default_postgres_password_is_refused_off_loopback(init_stack, monkeypatch):
    result = run_init(init_stack, monkeypatch, AIRFLOW_WEB_BIND="0.0.0.0", AIRFLOW_ADMIN_PASSWORD=STRONG)
    assert result.returncode != 0
    assert REFUSED in result.stderr and "POSTGRES_PASSWORD is" in result.stderr, result.stderr


@pytest.mark.stack
@pytest.mark.parametrize("char", ["@", ":", "/", "#", "%"])
def test_a_url_special_postgres_password_is_refused(init_stack, monkeypatch, char):
    result = run_init(init_stack, monkeypatch, POSTGRES_PASSWORD=f"abc{char}def")
    assert result.returncode != 0
    assert REFUSED in result.stderr and f"POSTGRES_PASSWORD contains '{char}'" in result.stderr, result.stderr


@pytest.mark.stack
@pytest.mark.parametrize("settings", [
    {},  # the defaults, on loopback
    {"AIRFLOW_WEB_BIND": "0.0.0.0", "AIRFLOW_ADMIN_PASSWORD": STRONG, "POSTGRES_PASSWORD": STRONG},
], ids=["defaults-on-loopback", "network-with-strong-passwords"])
def test_safe_settings_pass_the_check(init_stack, monkeypatch, settings):
    result = run_init(init_stack, monkeypatch, **settings)
    # past the check: it went on to wait for the (absent) database
    assert REFUSED not in result.stderr, result.stderr
    assert "the metadata database did not answer" in result.stderr, result.stderr
