"""A task longer than every timeout that could kill it completes, on both majors: three minutes, longer than
twelve 15 s task-token lifetimes (Airflow 3, compressed in tests/stack/docker-compose.compressed-time.yaml)
and than the product's heartbeat timeout (airflow-common.yaml). The task (tests/stack/dags/long_task.py)
started with the shared stack; this waits for its end."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.stack, pytest.mark.late]


def airflow_setting(stack, section: str, key: str) -> str:
    out = stack.exec("scheduler", "airflow", "config", "get-value", section, key).stdout
    return out.strip().splitlines()[-1]


def test_the_timeouts_are_shorter_than_the_task(stack):
    """What the long task outlives is really in effect (the names differ per major)."""
    if stack.major >= 3:
        assert airflow_setting(stack, "execution_api", "jwt_expiration_time") == "15"
        heartbeat_timeout = airflow_setting(stack, "scheduler", "task_instance_heartbeat_timeout")
    else:
        heartbeat_timeout = airflow_setting(stack, "scheduler", "scheduler_zombie_task_threshold")
    assert int(heartbeat_timeout) < 180


def test_a_three_minute_task_outlives_twelve_token_lifetimes_and_succeeds(stack, figures):
    t0 = time.monotonic()
    deadline = t0 + 420
    stack.wait_for_dag("long_task", timeout=120)
    while not (runs := stack.api.runs("long_task")):
        assert time.monotonic() < deadline, f"long_task never started: {stack.api.import_errors()}"
        time.sleep(2)
    (run,) = runs
    state = stack.wait_for_run("long_task", run["dag_run_id"], timeout=max(deadline - time.monotonic(), 1),
                               poll=2)
    (ti,) = stack.task_instances("long_task", run["dag_run_id"])
    figures.append(f"long task on Airflow {stack.setting('AIRFLOW_VERSION')}: {state} after "
                   f"{ti['duration']:.0f} s, try {ti['try_number']} (waited {time.monotonic() - t0:.0f} s)")
    assert state == "success", stack.logs("scheduler")[-5000:]
    # one try, never killed and retried, and it really ran the whole three minutes
    assert ti["try_number"] == 1 and ti["duration"] >= 180
    log = stack.task_log("long_task", run["dag_run_id"], "three_minutes")
    assert "still running after 180 s" in log
