"""Retention on both majors (the retention service, scripts/retention.sh): the pass a start runs deletes
task logs, metadata and downloads older than their windows (.env: 30, 90 and 7 days); what is newer, and
a DAG run still running, stays. Time is compressed by ageing files and rows, not by shorter windows."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from stack.conftest import ONE_OFF_DATA
from support.stack import env_options
from support.stack_taxi import psql

pytestmark = pytest.mark.stack

SHORT_DAG = Path(__file__).parent / "dags" / "short_tasks.py"
PASS_DONE = "airflow-lite retention: data:"  # the last step of a pass (scripts/retention.sh)

# path in the container -> age in days (written as AIRFLOW_UID, as the stack writes its own files)
FILES = {
    "logs/dag_id=short_tasks/old/attempt=1.log": 40,     # past the 30 days: deleted
    "logs/dag_id=short_tasks/recent/attempt=1.log": 20,  # kept
    "data/yellow/yellow_tripdata_2019-01.csv.gz": 10,    # not used for 7 days: deleted
    "data/yellow/yellow_tripdata_2019-02.csv.gz": 3,     # kept
    "data/yellow/.yellow_tripdata_2019-03.csv.gz.x1.part": 2,  # a partial download a day old: deleted
    "data/.gitkeep": 30,  # not a download (git keeps the folder with it): kept
}
DELETED = {path for path, days in FILES.items() if days in (40, 10, 2)}


def write_aged_files(stack, service: str, files: dict[str, int]) -> None:
    # (rm first: a file of the clone, such as data/.gitkeep, belongs to whoever cloned it)
    script = "".join(f"mkdir -p \"$(dirname '{path}')\" && rm -f '{path}' && echo x > '{path}' "
                     f"&& touch -d '-{days} days' '{path}'\n" for path, days in files.items())
    stack.exec(service, "bash", "-c", f"cd /opt/airflow && {script}")


def existing(stack, paths) -> set[str]:
    return {p for p in paths if (stack.dir / p).exists()}


def rows(stack, table: str, run_id: str) -> int:
    query = f"SELECT count(*) FROM {table} WHERE dag_id = 'short_tasks' AND run_id = '{run_id}'"
    return int(psql(stack, query, db="airflow"))


@pytest.fixture(scope="session")
def retention_pass(stack):
    """Two finished runs of short_tasks (the first aged 120 days), a run 'running' for 100 days (its DAG
    paused, so the scheduler leaves it so), aged files; then the retention service restarted."""
    shutil.copy(SHORT_DAG, stack.dir / "dags")
    stack.wait_for_dag("short_tasks", timeout=90)
    old, recent = (stack.trigger("short_tasks") for _ in range(2))
    for run_id in (old, recent):
        assert stack.wait_for_run("short_tasks", run_id, timeout=120) == "success"
    stack.api.set_paused("short_tasks", True)
    running = stack.api.create_run("short_tasks")
    ago = "now() - interval '120 days'"
    of_run = "WHERE dag_id = 'short_tasks' AND run_id = '{}'".format
    psql(stack, f"""
        UPDATE dag_run SET state = 'running', start_date = now() - interval '100 days' {of_run(running)};
        UPDATE dag_run SET start_date = {ago}, end_date = {ago} {of_run(old)};
        UPDATE task_instance SET start_date = {ago}, end_date = {ago} {of_run(old)};
        UPDATE xcom SET timestamp = {ago} {of_run(old)};
        UPDATE log SET dttm = {ago} {of_run(old)};
    """, db="airflow")
    assert rows(stack, "task_instance", old) == 2
    assert rows(stack, "xcom", old) >= 1 and rows(stack, "log", old) >= 1
    write_aged_files(stack, "retention", FILES)
    assert existing(stack, FILES) == set(FILES)

    passes = stack.service_log("retention").count(PASS_DONE)
    t0 = time.monotonic()
    stack.compose("restart", "retention")
    while stack.service_log("retention").count(PASS_DONE) <= passes:
        assert time.monotonic() - t0 < 120, stack.service_log("retention")[-3000:]
        time.sleep(1)
    seconds = time.monotonic() - t0
    running_after = stack.api.run("short_tasks", running)["state"]
    stack.api.set_run_state("short_tasks", running, "failed")  # leave no run 'running' behind
    return {"old": old, "recent": recent, "running_after": running_after, "seconds": seconds}


def test_a_pass_at_start_deletes_old_task_logs_and_downloads_keeps_newer_ones(stack, retention_pass, figures):
    figures.append(f"retention on Airflow {stack.setting('AIRFLOW_VERSION')}: restart to pass done "
                   f"{retention_pass['seconds']:.0f} s")
    deadline = time.monotonic() + 30  # /clean-logs trims beside the pass, in its own loop
    while existing(stack, FILES) != set(FILES) - DELETED and time.monotonic() < deadline:
        time.sleep(1)
    assert existing(stack, FILES) == set(FILES) - DELETED


def test_old_metadata_is_deleted_recent_history_and_a_running_run_stay(stack, retention_pass):
    old, recent = retention_pass["old"], retention_pass["recent"]
    assert [rows(stack, table, old) for table in ("dag_run", "task_instance", "xcom", "log")] == [0, 0, 0, 0]
    assert rows(stack, "dag_run", recent) == 1 and rows(stack, "task_instance", recent) == 2
    assert rows(stack, "xcom", recent) >= 1 and rows(stack, "log", recent) >= 1
    assert retention_pass["running_after"] == "running"
    logs = stack.service_log("retention")
    assert "keeping logs 30 days, metadata 90 days, data/ 7 days" in logs
    # the pass deleted rows, and said where it stopped: before the running run's start, not at 90 days
    last = logs[logs.rindex("metadata: deleted"):].splitlines()[0]
    assert " 0 rows" not in last, last


def test_the_retention_service_is_healthy_after_its_pass(stack, retention_pass):
    stack.wait_healthy(timeout=60)


def test_each_retention_can_be_turned_off(stack):
    path = f"{ONE_OFF_DATA['TAXI_DATA_DIR']}/green/green_tripdata_2019-01.csv.gz"
    off = env_options({"AIRFLOW_LITE_DATA_RETENTION_DAYS": "off", "AIRFLOW_LITE_DB_RETENTION_DAYS": "off"})
    script = (f"mkdir -p $(dirname {path}) && echo x > {path} && touch -d '-30 days' {path} "
              f"&& /opt/airflow/scripts/retention.sh pass && test -e {path}")
    result = stack.compose("run", "--rm", "--no-deps", *env_options(ONE_OFF_DATA), *off, "retention",
                           "bash", "-c", script, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "metadata:" not in result.stderr and "data:" not in result.stderr


@pytest.mark.parametrize("setting,value", [("DB_RETENTION_DAYS", "ninety"), ("LOG_RETENTION_DAYS", "0"),
                                           ("CLEANUP_INTERVAL_MINUTES", "6h")])
def test_a_bad_retention_setting_is_named(stack, setting, value):
    result = stack.compose("run", "--rm", "--no-deps", "-e", f"AIRFLOW_LITE_{setting}={value}", "retention",
                           "bash", "-c", "/opt/airflow/scripts/retention.sh check", check=False)
    assert result.returncode == 2
    assert f"AIRFLOW_{setting}={value} in .env" in result.stderr


@pytest.mark.late
def test_passes_repeat_every_interval(stack):
    """tests/stack/retention_loop.sh: the service's loop with a 1-minute interval, started beside the stack
    (tests/stack/conftest.py); its minute of waiting overlaps the other tests."""
    stdout, stderr = stack.retention_loop.communicate(timeout=150)
    assert stack.retention_loop.returncode == 0 and "deleted after" in stdout, stdout + stderr
