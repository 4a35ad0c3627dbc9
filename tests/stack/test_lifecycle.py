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
    return json.loads(out[out.index("["):])[0]["password"]  # (Airflow 3 may log a line before it)


@pytest.fixture(scope="module")
def saved_state(stack, example_run):
    stack.api.create_connection({"connection_id": "lifecycle_secret", "conn_type": "postgres",
                                 "host": "db.example", "login": "someone", "password": SECRET})
    assert stored_password(stack, "lifecycle_secret") == SECRET
    fernet = stack.exec("scheduler", "cat", "/opt/airflow/secrets/fernet_key").stdout.strip()
    return {"run_id": example_run, "fernet_key": fernet}


def assert_state_kept(stack, saved):
    assert stack.get("/dags").status_code == 200  # the admin user still logs in
    runs = stack.api.runs("LocalIngestionDagv2")
    assert saved["run_id"] in [r["dag_run_id"] for r in runs]
    fernet = stack.exec("scheduler", "cat", "/opt/airflow/secrets/fernet_key").stdout.strip()
    assert fernet == saved["fernet_key"]
    assert stored_password(stack, "lifecycle_secret") == SECRET


# On .env's major only: `restart` keeps the containers, so what survives it lives in the volumes, as
# with down and up, which recreates the containers too and runs on both majors.
@pytest.mark.env_major_only
def test_restart_keeps_users_history_and_keys(stack, saved_state):
    stack.compose("restart")
    stack.wait_healthy()
    assert_state_kept(stack, saved_state)


def test_down_then_up_keeps_users_history_and_keys(stack, saved_state):
    stack.compose("down")
    stack.up()
    assert_state_kept(stack, saved_state)
    # the new airflow-init found the admin user and skipped `airflow users create` (an Airflow start,
    # which would have said "already exist")
    init_log = stack.logs("airflow-init")
    assert 'admin user "airflow" ready (already there)' in init_log and "already exist" not in init_log


@pytest.mark.airflow3_only
def test_a_dead_dag_processor_restarts_with_the_scheduler(stack, figures):
    """Airflow 3's DAG processor runs beside the scheduler (scripts/entrypoint.sh): when it dies the
    container ends and its restart policy brings both back; DAG changes are seen again."""
    (scheduler,) = stack.container_ids("scheduler")
    restarts = int(stack.inspect(scheduler, "{{.RestartCount}}"))
    killed = stack.exec("scheduler", "python", "-c", KILL_DAG_PROCESSOR).stdout.split()
    assert killed, "no dag-processor process found in the scheduler container"
    t0 = time.monotonic()
    deadline = t0 + 180
    while not (int(stack.inspect(scheduler, "{{.RestartCount}}")) > restarts
               and stack.inspect(scheduler, "{{.State.Health.Status}}") == "healthy"):
        assert time.monotonic() < deadline, stack.logs("scheduler")[-3000:]
        time.sleep(1)
    figures.append(f"Airflow 3 DAG processor killed: scheduler container back and healthy after "
                   f"{time.monotonic() - t0:.0f} s")
    (stack.dir / "dags" / "after_the_restart.py").write_text(NEW_DAG)
    stack.wait_for_dag("after_the_restart", timeout=60)


def test_stop_ends_every_container_within_15_s_with_exit_code_0(stack, figures):
    t0 = time.monotonic()
    stack.compose("stop")
    seconds = time.monotonic() - t0
    figures.append(f"docker compose stop: {seconds:.1f} s")
    assert seconds < 15
    for service in PROJECT_SERVICES:
        for cid in stack.container_ids(service, all_states=True):
            assert stack.inspect(cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 0", service


# The DAG processor's main process: the child of entrypoint.sh (itself dumb-init's child) started as
# `dag-processor`, not the parsing processes it forks.
KILL_DAG_PROCESSOR = """
import os, signal
def ppid(pid):
    return int(open(f'/proc/{pid}/status').read().split('PPid:')[1].split()[0])
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        cmd = open(f'/proc/{pid}/cmdline', 'rb').read()
        main = ppid(pid) != 1 and ppid(ppid(pid)) == 1
    except (OSError, ValueError, IndexError):
        continue
    if main and b'dag-processor' in cmd:
        os.kill(int(pid), signal.SIGKILL)
        print(pid)
"""
NEW_DAG = """
import pendulum
from airflow import DAG

with DAG("after_the_restart", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    pass
"""
