"""The taxi pipelines inside the compose stack: files from a local HTTP server (taxi-files), rows into
the stack's own Postgres (`ny_taxi`), parquet into a GCS emulator (gcs-emulator)."""

from __future__ import annotations

import json

import pytest
from support.stack_taxi import month_rows, psql, run_month, serve_month

MONTH = "2021-01"
ROWS = {"yellow": 3000, "green": 1500, "fhv": 2000}


@pytest.fixture(scope="module")
def served_month(stack):
    """Generated csv.gz files of MONTH for every taxi type, served by taxi-files."""
    return serve_month(stack, MONTH, ROWS)


def test_local_ingestion_dag_loads_the_month_into_ny_taxi(stack, served_month):
    # The stack is fresh: ny_taxi does not exist yet, and the three loads create it at once.
    assert psql(stack, "SELECT count(*) FROM pg_database WHERE datname = 'ny_taxi'", db="airflow") == "0"
    run_id = run_month(stack, "LocalIngestionDag", MONTH)
    tries = {ti["task_id"]: (ti["state"], ti["try_number"])
             for ti in stack.task_instances("LocalIngestionDag", run_id)}
    # all nine tasks (3 taxi types x download, load, check) succeed on their first try
    assert len(tries) == 9 and set(tries.values()) == {("success", 1)}, tries
    for taxi, rows in served_month.items():
        assert month_rows(stack, taxi, MONTH) == rows
    # the download stayed in data/, outside the image, for a rerun to reuse
    assert (stack.dir / "data" / "yellow" / f"yellow_tripdata_{MONTH}.csv.gz").exists()


def test_gcs_dag_uploads_the_month_as_parquet_to_the_bucket(stack, served_month):
    run_month(stack, "data_ingestion_gcs", MONTH)
    # read the bucket back from inside the stack, through the real client library
    listing = stack.exec("scheduler", "python", "-c", (
        "import io, json, os; import pyarrow.parquet as pq; from google.cloud import storage; "
        "c = storage.Client(project=os.environ['GCP_PROJECT_ID']); "
        "print(json.dumps({b.name: pq.read_metadata(io.BytesIO(b.download_as_bytes())).num_rows "
        "for b in c.list_blobs(os.environ['GCP_GCS_BUCKET'])}))"))
    # only this DAG's objects: the shared stack's bucket also holds other tests' uploads
    rows_by_object = {name: rows for name, rows in json.loads(listing.stdout.strip().splitlines()[-1]).items()
                      if name.split("/")[1] in served_month}
    assert rows_by_object == {f"raw/{taxi}/2021/{taxi}_tripdata_{MONTH}.parquet": rows
                              for taxi, rows in served_month.items()}
