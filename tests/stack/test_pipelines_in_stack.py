"""The taxi pipelines inside the compose stack: files from a local HTTP server (taxi-files), rows into
the stack's own Postgres (`ny_taxi`), parquet into a GCS emulator (gcs-emulator)."""

from __future__ import annotations

import json

import pytest
from ingest.taxidata import make_trips, write_csv

MONTH = "2021-01"
LOGICAL_DATE = "2021-01-02T06:00:00+00:00"  # the "0 6 2 * *" run whose month is January 2021
ROWS = {"yellow": 3000, "green": 1500, "fhv": 2000}


@pytest.fixture(scope="module")
def served_month(stack):
    """Generated csv.gz files of MONTH for every taxi type, served by taxi-files."""
    for taxi, rows in ROWS.items():
        folder = stack.dir / "test-files" / taxi
        folder.mkdir(parents=True, exist_ok=True)
        path = write_csv(make_trips(taxi, MONTH, rows, seed=7), folder / f"{taxi}_tripdata_{MONTH}.csv.gz",
                         float_ints=taxi == "green")
        path.chmod(0o644)
    return ROWS


def run_month(stack, dag_id: str) -> str:
    """Run `dag_id` for MONTH only: the run is created while the DAG is paused, so the DAG's own
    catch-up (one active run at a time) cannot get ahead of it; paused again afterwards."""
    api = f"{stack.base_url}/api/v1/dags/{dag_id}"
    stack.wait_for_dag(dag_id)
    r = stack.api.post(f"{api}/dagRuns", json={"logical_date": LOGICAL_DATE}, timeout=30)
    r.raise_for_status()
    run_id = r.json()["dag_run_id"]
    stack.api.patch(api, json={"is_paused": False}, timeout=30).raise_for_status()
    try:
        state = stack.wait_for_run(dag_id, run_id, timeout=300)
    finally:
        stack.api.patch(api, json={"is_paused": True}, timeout=30).raise_for_status()
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(dag_id, run_id)}
    assert state == "success", states
    return run_id


def psql(stack, query: str) -> str:
    return stack.exec("postgres", "psql", "-U", "airflow", "-d", "ny_taxi", "-tAc", query).stdout.strip()


def test_local_ingestion_dag_loads_the_month_into_ny_taxi(stack, served_month):
    run_id = run_month(stack, "LocalIngestionDag")
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances("LocalIngestionDag", run_id)}
    assert len(states) == 9 and set(states.values()) == {"success"}, states
    for taxi, rows in served_month.items():
        assert psql(stack, f"SELECT count(*) FROM {taxi}_tripdata WHERE month = '{MONTH}-01'") == str(rows)
    # the download stayed in data/, outside the image, for a rerun to reuse
    assert (stack.dir / "data" / "yellow" / f"yellow_tripdata_{MONTH}.csv.gz").exists()


def test_gcs_dag_uploads_the_month_as_parquet_to_the_bucket(stack, served_month):
    run_month(stack, "data_ingestion_gcs")
    # read the bucket back from inside the stack, through the real client library
    listing = stack.exec("scheduler", "python", "-c", (
        "import io, json, os; import pyarrow.parquet as pq; from google.cloud import storage; "
        "c = storage.Client(project=os.environ['GCP_PROJECT_ID']); "
        "print(json.dumps({b.name: pq.read_metadata(io.BytesIO(b.download_as_bytes())).num_rows "
        "for b in c.list_blobs(os.environ['GCP_GCS_BUCKET'])}))"))
    rows_by_object = json.loads(listing.stdout.strip().splitlines()[-1])
    assert rows_by_object == {f"raw/{taxi}/2021/{taxi}_tripdata_{MONTH}.parquet": rows
                              for taxi, rows in served_month.items()}
