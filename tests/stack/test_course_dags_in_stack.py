"""The course's GCS ingestion DAG inside the compose stack: as written it is an import error that
`python -m dag_check` (run in the scheduler, as the README says) explains; after `--fix` it runs
against the GCS emulator and the local BigQuery fake, and creates the external table exactly as the
course's table_resource defines it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.stack_taxi import pause

# Course DAGs pasted into a 2.11 stack (the course's own Airflow); on 3.x they need dag_check --fix first.
pytestmark = pytest.mark.airflow2_only

ROOT = Path(__file__).resolve().parents[2]
COURSE_DAG = ROOT / "tests" / "dag_check" / "course_dags" / "data_ingestion_gcs_dag.py"
DAG_ID = "data_ingestion_gcs_dag"
# The stack has no internet: the course's download URL is pointed at the taxi-files service.
COURSE_URL = 'dataset_url = f"https://s3.amazonaws.com/nyc-tlc/trip+data/{dataset_file}"'
STACK_URL = 'dataset_url = f"http://taxi-files:8000/course/{dataset_file}"'
CSV_HEADER = "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,total_amount"


def serve_course_csv(stack) -> None:
    rows = [f"{1 + i % 2},2021-01-{1 + i % 28:02d} 08:{i % 60:02d}:00,2021-01-{1 + i % 28:02d} 09:00:00,"
            f"{1 + i % 4},{i * 0.3:.1f},{10 + i % 17}.25" for i in range(200)]
    folder = stack.dir / "test-files" / "course"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "yellow_tripdata_2021-01.csv"
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n")
    path.chmod(0o644)


def first_run_when_unpaused(stack, timeout: float = 60) -> str:
    """Unpause the DAG; the id of the run the scheduler then starts, the latest day's (the course's DAG
    says catchup=False), as a user sees it happen."""
    stack.api.set_paused(DAG_ID, False)
    deadline = time.monotonic() + timeout
    while not (runs := stack.api.runs(DAG_ID)):
        assert time.monotonic() < deadline, f"no run {timeout} s after unpausing {DAG_ID}"
        time.sleep(0.5)
    (run,) = runs
    return run["dag_run_id"]


def wait_or_explain(stack, run_id: str, timeout: float = 300) -> str:
    """Wait for the run; fail at once, with the task's log, when one of its tasks fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ti in stack.task_instances(DAG_ID, run_id):
            if ti["state"] in ("failed", "up_for_retry", "upstream_failed"):
                log = stack.task_log(DAG_ID, run_id, ti["task_id"], max(ti["try_number"], 1))
                raise AssertionError(f"{ti['task_id']} {ti['state']} in {run_id}:\n{log[-4000:]}")
        state = stack.api.run(DAG_ID, run_id)["state"]
        if state in ("success", "failed"):
            return state
        time.sleep(1)
    raise AssertionError(f"{run_id} not finished after {timeout} s: {stack.api.run(DAG_ID, run_id)}")


def test_fixed_course_gcs_dag_creates_the_external_table_the_course_asked_for(stack):
    serve_course_csv(stack)
    dag_file = stack.dir / "dags" / COURSE_DAG.name
    text = COURSE_DAG.read_text()
    assert text.count(COURSE_URL) == 1
    dag_file.write_text(text.replace(COURSE_URL, STACK_URL))

    # As written: the README's check, run in the scheduler, names the problem and the replacement.
    check = stack.exec("scheduler", "python", "-m", "dag_check", "/opt/airflow/dags", check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    # (paths are shown relative to the working directory, /opt/airflow)
    assert (f"dags/{COURSE_DAG.name}:10: DC101 breaks on Airflow 2.11.2: "
            "BigQueryCreateExternalTableOperator was removed") in check.stdout

    # --fix (on the host: dags/ is the user's folder), then the scheduler picks the fixed file up.
    fixed = subprocess.run([sys.executable, "-m", "dag_check", "--fix", str(dag_file)], capture_output=True,
                           text=True, env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin",
                                           "AIRFLOW_HOME": str(stack.dir / "host-airflow-home")})
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (dag_file.parent / f"{COURSE_DAG.name}.bak").exists()
    stack.wait_for_dag(DAG_ID, timeout=90)

    try:
        run_id = first_run_when_unpaused(stack)
        state = wait_or_explain(stack, run_id)
    finally:
        pause(stack, DAG_ID)
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(DAG_ID, run_id)}
    assert state == "success", states
    assert states == dict.fromkeys(["download_dataset_task", "format_to_parquet_task", "local_to_gcs_task",
                                    "bigquery_external_table_task"], "success")

    # What the fake BigQuery stored: the body of the tables.insert call the operator made.
    project, bucket, dataset = (stack.env[k]
                                for k in ("GCP_PROJECT_ID", "GCP_GCS_BUCKET", "BIGQUERY_DATASET"))
    url = f"http://bigquery-fake:9050/bigquery/v2/projects/{project}/datasets/{dataset}/tables/external_table"
    got = stack.exec("scheduler", "python", "-c",
                     f"import urllib.request; print(urllib.request.urlopen({url!r}).read().decode())")
    stored = json.loads(got.stdout.strip().splitlines()[-1])
    inserted = {k: v for k, v in stored.items() if k not in ("kind", "id", "etag", "type")}
    # the course's table_resource, with its variables as the stack sets them
    assert inserted == {
        "tableReference": {"projectId": project, "datasetId": dataset, "tableId": "external_table"},
        "externalDataConfiguration": {
            "sourceFormat": "PARQUET",
            "sourceUris": [f"gs://{bucket}/raw/yellow_tripdata_2021-01.parquet"],
        },
    }
    assert stored["type"] == "EXTERNAL"
