"""The whole compose stack, started once per test session from a private copy of the repo."""

from __future__ import annotations

import pytest
from support.stack import Stack

# Destructive lifecycle tests (restart, down/up, stop) run after everything else that shares the stack.
LAST = "lifecycle"

TEST_URL_TEMPLATE = "http://taxi-files:8000/{taxi}/{taxi}_tripdata_{year}-{month}.csv.gz"
# Settings of the in-stack GCS emulator (tests/stack/docker-compose.test.yaml).
TEST_GCP = {"GCP_PROJECT_ID": "airflow-lite-test", "GCP_GCS_BUCKET": "airflow-lite-test-bucket",
            "BIGQUERY_DATASET": "trips_data_all"}


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker(LAST) is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", f"{LAST}: restarts or stops the shared stack; runs last")


def stack_with_test_services(workdir, *more_overrides: str) -> Stack:
    """A built, not yet started Stack with the test services (taxi-files serves <dir>/test-files)."""
    s = Stack(workdir, override_files=("tests/stack/docker-compose.test.yaml", *more_overrides),
              env={"TAXI_URL_TEMPLATE": TEST_URL_TEMPLATE, **TEST_GCP})
    (s.dir / "test-files").mkdir()
    s.build()
    return s


@pytest.fixture(scope="session")
def stack(tmp_path_factory, figures, artifacts_dir):
    s = stack_with_test_services(tmp_path_factory.mktemp("stack"))
    try:  # a stack that never gets healthy is torn down too
        s.up_seconds = s.up()
        figures.append(f"stack ({' '.join(s.compose_cmd)}): up -d to all healthy {s.up_seconds:.1f} s")
        yield s
    finally:
        (artifacts_dir / "stack.log").write_text(s.logs())
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
    figures.append(f"LocalIngestionDagv2: trigger to success {seconds:.1f} s (first run)")
    return run_id
