"""What survives restart and down/up, and how the stack stops. Runs after the other stack tests."""

from __future__ import annotations

import json
import time

import pytest
from support.stack import PROJECT_SERVICES

pytestmark = pytest.mark.lifecycle

SECRET = "s3cr3t-p4ss"


def stored_password(stack, conn_id: str) -> str:
    """Decrypt a connection with the CLI inside the scheduler (fails if the Fernet key changed)."""
    out = stack.exec("scheduler", "airflow", "connections", "get", conn_id, "--output", "json").stdout
    return json.loads(out)[0]["password"]


@pytest.fixture(scope="module")
def saved_state(stack, example_run):
    r = stack.api.post(f"{stack.base_url}/api/v1/connections", timeout=30, json={
        "connection_id": "lifecycle_secret", "conn_type": "postgres", "host": "db.example",
        "login": "someone", "password": SECRET})
    r.raise_for_status()
    assert stored_password(stack, "lifecycle_secret") == SECRET
    fernet = stack.exec("scheduler", "cat", "/opt/airflow/secrets/fernet_key").stdout.strip()
    return {"run_id": example_run, "fernet_key": fernet}


def assert_state_kept(stack, saved):
    assert stack.get("/dags").status_code == 200  # the admin user still logs in
    runs = stack.get("/dags/LocalIngestionDagv2/dagRuns").json()["dag_runs"]
    assert saved["run_id"] in [r["dag_run_id"] for r in runs]
    fernet = stack.exec("scheduler", "cat", "/opt/airflow/secrets/fernet_key").stdout.strip()
    assert fernet == saved["fernet_key"]
    assert stored_password(stack, "lifecycle_secret") == SECRET


def test_restart_keeps_users_history_and_keys(stack, saved_state):
    stack.compose("restart")
    stack.wait_healthy()
    assert_state_kept(stack, saved_state)


def test_down_then_up_keeps_users_history_and_keys(stack, saved_state):
    stack.compose("down")
    stack.up()
    assert_state_kept(stack, saved_state)


def test_stop_ends_every_container_within_15_s_with_exit_code_0(stack, figures):
    t0 = time.monotonic()
    stack.compose("stop")
    seconds = time.monotonic() - t0
    figures.append(f"docker compose stop: {seconds:.1f} s")
    assert seconds < 15
    for service in PROJECT_SERVICES:
        for cid in stack.container_ids(service, all_states=True):
            assert stack.inspect(cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 0", service
