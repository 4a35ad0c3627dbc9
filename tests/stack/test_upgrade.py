"""A 2.11.2 installation with history moves to Airflow 3.3.2 the way the README says, and cannot go back.

One stack of its own, built and filled on 2.11.2 whatever .env picks: runs, the admin user, a connection with
a password, a variable and a loaded taxi month. Then a backup, AIRFLOW_VERSION=3.3.2 and
`docker compose up -d --build`, as a user would. Afterwards everything is still there and a new run
succeeds; setting AIRFLOW_VERSION back is refused by airflow-init, and nothing starts.
"""

from __future__ import annotations

import json
import time

import pytest
from stack.conftest import stack_with_test_services
from support.stack import AIRFLOW2_VERSION, AIRFLOW3_VERSION
from support.stack_taxi import month_rows, run_month, serve_month

EXAMPLE = "LocalIngestionDagv2"
SECRET = "pa55-kept-across-the-upgrade"
MONTHS = {"2021-03": {"yellow": 2000, "green": 500, "fhv": 500}}


def stored_password(stack, conn_id: str) -> str:
    """Decrypted by the CLI in the scheduler: fails if the Fernet key or the data did not survive."""
    out = stack.exec("scheduler", "airflow", "connections", "get", conn_id, "--output", "json").stdout
    return json.loads(out[out.index("["):])[0]["password"]


def run_example(stack) -> str:
    stack.wait_for_dag(EXAMPLE, timeout=120)
    run_id = stack.trigger(EXAMPLE)
    assert stack.wait_for_run(EXAMPLE, run_id, timeout=180) == "success"
    return run_id


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory, figures, artifacts_dir):
    """(stack now on 3.3.2, what the 2.11.2 stack held, path of the backup taken before upgrading)."""
    # (with the fault stack's override: only the runs the test creates, no catch-up ahead of them)
    s = stack_with_test_services(tmp_path_factory.mktemp("upgrade"), "tests/stack/docker-compose.faults.yaml",
                                 env={"AIRFLOW_VERSION": AIRFLOW2_VERSION})
    try:
        s.up()
        before = {"run": run_example(s)}
        s.api.create_connection({"connection_id": "upgrade_secret", "conn_type": "postgres",
                                 "host": "db.example", "login": "someone", "password": SECRET})
        s.api.create_variable("upgrade_me", "42")
        rows = serve_month(s, "2021-03", MONTHS["2021-03"])
        before["month_run"] = run_month(s, "LocalIngestionDag", "2021-03")
        before["rows"] = {taxi: month_rows(s, taxi, "2021-03") for taxi in rows}
        assert before["rows"] == rows

        # the README's procedure: back up, switch the one .env line, up -d --build
        out = s.compose("run", "--rm", "airflow-init", "backup")
        (backup,) = (s.dir / "backups").glob("airflow-lite-*.tar")
        assert "backup written" in out.stdout + out.stderr
        s.env["AIRFLOW_VERSION"] = AIRFLOW3_VERSION
        s.api = type(s.api)(s.base_url, s.major)  # the client of the new major
        t0 = time.monotonic()
        s.compose("up", "-d", "--build")
        s.wait_healthy(300)
        figures.append(f"upgrade {AIRFLOW2_VERSION} -> {AIRFLOW3_VERSION} with history: "
                       f"up -d --build to all healthy {time.monotonic() - t0:.1f} s")
        yield s, before, backup
    finally:
        (artifacts_dir / "upgrade-stack.log").write_text(s.logs())
        s.down()


def test_the_upgraded_stack_keeps_login_runs_connection_variable_and_taxi_tables(upgraded):
    stack, before, _ = upgraded
    assert stack.major == 3
    assert 'database migrated; admin user "airflow" ready' in stack.logs("airflow-init")
    assert stack.api.token().status_code in {200, 201}  # the same login, now through /auth/token
    runs = {r["dag_run_id"]: r["state"] for r in stack.api.runs(EXAMPLE)}
    assert runs.get(before["run"]) == "success", runs
    month_runs = {r["dag_run_id"]: r["state"] for r in stack.api.runs("LocalIngestionDag")}
    assert month_runs.get(before["month_run"]) == "success", month_runs
    assert stored_password(stack, "upgrade_secret") == SECRET
    assert stack.exec("scheduler", "airflow", "variables", "get", "upgrade_me").stdout.strip().endswith("42")
    assert {taxi: month_rows(stack, taxi, "2021-03") for taxi in before["rows"]} == before["rows"]


def test_a_new_run_succeeds_after_the_upgrade(upgraded):
    stack, before, _ = upgraded
    run_example(stack)
    assert {taxi: month_rows(stack, taxi, "2021-03") for taxi in before["rows"]} == before["rows"]


def test_going_back_is_refused_and_nothing_starts(upgraded):
    stack, before, backup = upgraded
    stack.env["AIRFLOW_VERSION"] = AIRFLOW2_VERSION
    back = stack.compose("up", "-d", "--build", check=False, timeout=900)
    assert back.returncode != 0, back.stdout + back.stderr  # airflow-init failed, so nothing started
    log = stack.logs("airflow-init")
    assert "the metadata database was migrated by a newer Airflow" in log, log[-2000:]
    assert "restore the backup taken before upgrading" in log
    assert not stack.container_ids("webserver") and not stack.container_ids("scheduler")  # none half-started
    # the 3.x database is untouched by the refused start, and the backup to go back with is there
    assert {taxi: month_rows(stack, taxi, "2021-03") for taxi in before["rows"]} == before["rows"]
    assert backup.stat().st_size > 0
    # (restoring a backup into a fresh stack: tests/stack/test_faults.py)
