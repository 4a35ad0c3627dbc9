"""The whole compose stack, started once per test session from a private copy of the repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support.stack import (
    COMPOSE_V1,
    DEFAULT_AIRFLOW_VERSION,
    OTHER_AIRFLOW_VERSION,
    REPO,
    Stack,
    compose_installed,
    dotenv_settings,
    env_options,
)

# Destructive lifecycle tests (restart, down/up, stop) run after everything else that shares the stack.
LAST = "lifecycle"
# Tests that wait for what started with the stack (tests/stack/dags/long_task.py, retention_loop.sh):
# after the others, which the wait overlaps, and before the lifecycle tests, which would end it.
LATE = "late"
# Tests about what only one major has (2: the course's DAGs as written; 3: the DAG processor).
AIRFLOW2_ONLY, AIRFLOW3_ONLY = "airflow2_only", "airflow3_only"
# Tests whose proof another test gives on both majors: run on .env's major only (CI's 30 minutes).
ENV_MAJOR_ONLY = "env_major_only"

TEST_URL_TEMPLATE = "http://taxi-files:8000/{taxi}/{taxi}_tripdata_{year}-{month}.csv.gz"
# Settings of the in-stack GCS emulator (tests/stack/docker-compose.test.yaml).
TEST_GCP = {"GCP_PROJECT_ID": "airflow-lite-test", "GCP_GCS_BUCKET": "airflow-lite-test-bucket",
            "BIGQUERY_DATASET": "trips_data_all"}


def pytest_collection_modifyitems(config, items):
    # never run (not even as skipped) on the other major's stack what only one major has
    deselected = [item for item in items if _stack_param(item) and (
        (item.get_closest_marker(AIRFLOW2_ONLY) and not _stack_param(item).startswith("2."))
        or (item.get_closest_marker(AIRFLOW3_ONLY) and not _stack_param(item).startswith("3."))
        or (item.get_closest_marker(ENV_MAJOR_ONLY) and _stack_param(item) != DEFAULT_AIRFLOW_VERSION))]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]
    # one stack at a time: every test of the 2.x stack, then every test of the 3.x stack; within each,
    # the destructive lifecycle tests last
    items.sort(key=lambda item: (_stack_param(item), item.get_closest_marker(LAST) is not None,
                                 item.get_closest_marker(LATE) is not None))


def _stack_param(item) -> str:
    return getattr(item, "callspec", None) and item.callspec.params.get("stack", "") or ""


def pytest_configure(config):
    config.addinivalue_line("markers", f"{LAST}: restarts or stops the shared stack; runs last")
    config.addinivalue_line("markers", f"{LATE}: waits for what started with the shared stack; runs late")
    config.addinivalue_line("markers",
                            f"{AIRFLOW2_ONLY}: about what only Airflow 2 has; not run on the 3.x stack")
    config.addinivalue_line("markers",
                            f"{AIRFLOW3_ONLY}: about what only Airflow 3 has; not run on the 2.x stack")
    config.addinivalue_line("markers", f"{ENV_MAJOR_ONLY}: run on the stack of .env's major only")


def stack_with_test_services(workdir, *more_overrides: str, env: dict | None = None,
                             compose: list[str] | None = None) -> Stack:
    """A built, not yet started Stack with the test services (taxi-files serves <dir>/test-files)."""
    s = Stack(workdir, override_files=("tests/stack/docker-compose.test.yaml", *more_overrides),
              env={"TAXI_URL_TEMPLATE": TEST_URL_TEMPLATE, **TEST_GCP, **(env or {})}, compose=compose)
    (s.dir / "test-files").mkdir()
    s.build()
    return s


# The shared stack runs once per Airflow major: .env's (2.11.2 as shipped) as it is, and the other one
# selected the way a user selects it (AIRFLOW_VERSION only), there with another AIRFLOW_UID and compose
# v1 when installed, so those run on both majors without a stack of their own.
STACKS = {
    DEFAULT_AIRFLOW_VERSION: {},
    OTHER_AIRFLOW_VERSION: {"AIRFLOW_VERSION": OTHER_AIRFLOW_VERSION, "AIRFLOW_UID": "4242"},
}


# In the shared stacks' dags/ before they start (it runs at once, for three minutes).
LONG_TASK_DAG = Path(__file__).parent / "dags" / "long_task.py"
# ... holding one task slot meanwhile: one more than .env's, so the other tests have .env's number.
LONG_TASK_SLOT = {"AIRFLOW_PARALLELISM": str(int(dotenv_settings(REPO / ".env")["AIRFLOW_PARALLELISM"]) + 1)}
# A one-off container of the retention service (`compose run`: the service's settings and healthcheck)
# gets a data folder of its own: an overdue file in the shared data/ would turn the stack's own
# retention service unhealthy, and restart it.
ONE_OFF_DATA = {"TAXI_DATA_DIR": "/tmp/data"}
# Beside the shared stacks once healthy, for about 90 s: the retention service's loop with a 1-minute
# interval, in such a container; a late test (test_retention.py) reads what it printed.
RETENTION_LOOP = Path(__file__).parent / "retention_loop.sh"
RETENTION_LOOP_SETTINGS = {**ONE_OFF_DATA, "AIRFLOW_LITE_CLEANUP_INTERVAL_MINUTES": "1",
                           "AIRFLOW_LITE_DB_RETENTION_DAYS": "off", "AIRFLOW_LITE_LOG_RETENTION_DAYS": "off"}


def start_retention_loop(s: Stack) -> subprocess.Popen:
    return s.compose_in_background("run", "--rm", "--no-deps", *env_options(RETENTION_LOOP_SETTINGS),
                                   "retention", "bash", "-c", RETENTION_LOOP.read_text())


@pytest.fixture(scope="session", params=list(STACKS))
def stack(request, tmp_path_factory, figures, artifacts_dir):
    version = request.param
    compose = COMPOSE_V1 if version != DEFAULT_AIRFLOW_VERSION and compose_installed(COMPOSE_V1) else None
    s = stack_with_test_services(tmp_path_factory.mktemp(f"stack-{version}"),
                                 "tests/stack/docker-compose.compressed-time.yaml",
                                 env={**STACKS[version], **LONG_TASK_SLOT}, compose=compose)
    shutil.copy(LONG_TASK_DAG, s.dir / "dags")
    try:  # a stack that never gets healthy is torn down too
        s.up_seconds = s.up()
        uid = s.setting("AIRFLOW_UID")
        figures.append(f"stack Airflow {version} ({' '.join(s.compose_cmd)}, AIRFLOW_UID={uid}): "
                       f"up -d to all healthy {s.up_seconds:.1f} s")
        s.retention_loop = start_retention_loop(s)
        yield s
    finally:
        if getattr(s, "retention_loop", None) and s.retention_loop.poll() is None:
            s.retention_loop.kill()  # its test deselected: stop waiting (the container ends within 100 s)
            s.retention_loop.wait()
        (artifacts_dir / f"stack-{version}.log").write_text(s.logs())
        s.down()


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory, figures, artifacts_dir):
    """A second stack for the tests that freeze, kill, stop or wipe it (tests/stack/test_faults.py), so the
    shared `stack` never breaks. Each of those tests leaves it healthy again. Module scope: it is
    gone before the next module starts, never two extra stacks at once."""
    s = stack_with_test_services(tmp_path_factory.mktemp("fault-stack"),
                                 "tests/stack/docker-compose.faults.yaml")
    try:
        seconds = s.up()
        figures.append(f"fault stack: up -d to all healthy {seconds:.1f} s")
        yield s
    finally:
        (artifacts_dir / "fault-stack.log").write_text(s.logs())
        s.down()


@pytest.fixture(scope="session")
def example_run(stack, figures):
    """One successful run of the course's example DAG: (run id, seconds from trigger to success)."""
    import time

    stack.wait_for_dag("LocalIngestionDagv2")
    t0 = time.monotonic()
    run_id = stack.trigger("LocalIngestionDagv2")
    state = stack.wait_for_run("LocalIngestionDagv2", run_id, timeout=120)
    seconds = time.monotonic() - t0
    assert state == "success", stack.logs("scheduler")[-5000:]
    figures.append(f"LocalIngestionDagv2 on Airflow {stack.setting('AIRFLOW_VERSION')}: trigger to success "
                   f"{seconds:.1f} s (first run)")
    return run_id
