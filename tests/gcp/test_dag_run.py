"""Whole DagRuns of data_ingestion_gcs (`dag.test()`, real Airflow on a throwaway SQLite DB).

Sources come from a local HTTP server (TAXI_URL_TEMPLATE as an AIRFLOW_VAR_), uploads go to the GCS
emulator, BigQuery calls to the fake. Airflow runs in a child process with its own AIRFLOW_HOME.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support.airflow_run import fresh_airflow_env, run_dag
from support.gcp_fakes import DATASET, GCP_ENV, PROJECT, anonymous_conn_uri, fake_service_account_key
from support.net import HttpServer
from support.taxidata import make_trips, write_csv

from taxi_ingest.schemas import arrow_schema

ROOT = Path(__file__).resolve().parents[2]
ROWS = {"yellow": 120, "green": 45, "fhv": 80}
SECRET = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-for-logs"
MONTH_TASK_DATE = "2021-01-02T06:00:00+00:00"  # logical date of the run that ingests 2021-01


@pytest.fixture(scope="module")
def source_server(tmp_path_factory):
    """The month's csv.gz of every taxi type, at <url>/<taxi>/<taxi>_tripdata_2021-01.csv.gz."""
    root = tmp_path_factory.mktemp("sources")
    for seed, (taxi, rows) in enumerate(ROWS.items()):
        name = f"{taxi}_tripdata_2021-01.csv.gz"
        write_csv(make_trips(taxi, "2021-01", rows, seed=seed), root / taxi / name)
    with HttpServer(root) as server:
        yield server.url


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    """A fresh Airflow seeing our dags/ and taxi_ingest, without any GCP setting of the caller's.
    (Airflow's plugin loader and plugins/ itself: see test_plugin_loader_... below.)"""
    return fresh_airflow_env(tmp_path_factory.mktemp("airflow_home"), drop=GCP_ENV)


def run_gcs_dag(env: dict, extra: dict, data_dir: Path) -> tuple[dict, str, float]:
    started = time.monotonic()
    result, output = run_dag({**env, "TAXI_DATA_DIR": str(data_dir), **extra}, "data_ingestion_gcs",
                             MONTH_TASK_DATE)
    return result, output, time.monotonic() - started


@pytest.fixture
def pipeline_env(emulator_env, bucket, fake_bigquery, source_server):
    return {
        "GCP_PROJECT_ID": PROJECT,
        "GCP_GCS_BUCKET": bucket,
        "BIGQUERY_DATASET": DATASET,
        "STORAGE_EMULATOR_HOST": emulator_env.url,
        "BIGQUERY_EMULATOR_HOST": fake_bigquery.url,
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": anonymous_conn_uri(),
        "AIRFLOW_VAR_TAXI_URL_TEMPLATE": source_server + "/{taxi}/{taxi}_tripdata_{year}-{month}.csv.gz",
        "BIGQUERY_PARTITIONED_TABLE": "true",
    }


def test_a_month_lands_in_gcs_and_bigquery_and_reruns_cleanly(
    airflow_env, pipeline_env, storage_client, bucket, fake_bigquery, tmp_path
):
    result, output, _ = run_gcs_dag(airflow_env, pipeline_env, tmp_path / "data")
    assert result.get("state") == "success", output[-8000:]
    assert set(result["tasks"].values()) == {"success"}
    assert len(result["tasks"]) == 1 + 3 * 5

    def objects():
        return {b.name: b for b in storage_client.list_blobs(bucket)}

    first = objects()
    assert sorted(first) == [f"raw/{t}/2021/{t}_tripdata_2021-01.parquet" for t in ("fhv", "green", "yellow")]
    for taxi, rows in ROWS.items():
        f = pq.ParquetFile(
            io.BytesIO(first[f"raw/{taxi}/2021/{taxi}_tripdata_2021-01.parquet"].download_as_bytes())
        )
        assert f.metadata.num_rows == rows
        assert f.schema_arrow.equals(arrow_schema(taxi))
        table = fake_bigquery.tables[f"{PROJECT}.{DATASET}.external_{taxi}_tripdata"]
        assert table["externalDataConfiguration"]["sourceUris"] == [f"gs://{bucket}/raw/{taxi}/*"]
        assert table["externalDataConfiguration"]["sourceFormat"] == "PARQUET"
    queries = [
        r.json()["configuration"]["query"]["query"]
        for r in fake_bigquery.calls("POST")
        if r.path.endswith("/jobs")
    ]
    assert sorted(q.split("`")[1] for q in queries) == [
        f"{PROJECT}.{DATASET}.{t}_tripdata_partitioned" for t in ("fhv", "green", "yellow")
    ]

    # Same month again: same three objects (replaced), tables updated in place, no duplicates.
    fake_bigquery.requests.clear()
    result, output, _ = run_gcs_dag(airflow_env, pipeline_env, tmp_path / "data")
    assert result.get("state") == "success", output[-8000:]
    again = objects()
    assert sorted(again) == sorted(first)
    assert all(again[n].generation != first[n].generation for n in first)
    assert len(fake_bigquery.tables) == 3
    assert not [r for r in fake_bigquery.calls("POST") if r.path.endswith("/tables")]
    assert len([r for r in fake_bigquery.calls("PATCH")]) == 3


@pytest.mark.parametrize("key", ["unset", "absent", "not-a-service-account"])
def test_without_a_key_the_first_task_fails_at_once(airflow_env, tmp_path, key):
    env = {
        "GCP_PROJECT_ID": PROJECT,
        "GCP_GCS_BUCKET": "b",
        "BIGQUERY_DATASET": DATASET,
        "GCP_KEY_FILE": "k.json",
    }
    if key == "absent":
        env["GOOGLE_APPLICATION_CREDENTIALS"] = str(tmp_path / "google" / "k.json")
    elif key == "not-a-service-account":
        path = tmp_path / "k.json"
        path.write_text(json.dumps({**fake_service_account_key(SECRET), "type": "authorized_user"}))
        env["GOOGLE_APPLICATION_CREDENTIALS"] = str(path)
    result, output, elapsed = run_gcs_dag(airflow_env, env, tmp_path / "data")

    assert "import_errors" not in result
    assert result["state"] == "failed"
    assert result["tasks"]["check_gcp_setup"] == "failed"
    assert {s for t, s in result["tasks"].items() if t != "check_gcp_setup"} == {"upstream_failed"}
    assert "GcpCredentialsError" in output
    assert "Put your service-account key at google/k.json on the host" in output
    assert "/opt/airflow/google/k.json" in output
    assert SECRET not in output
    assert not (tmp_path / "data").exists()  # nothing downloaded
    assert elapsed < 60  # one try, no retries: only the cost of starting Airflow


def test_plugin_loader_leaves_the_taxi_ingest_package_alone(airflow_env):
    """Airflow execs every .py under plugins/ as a top-level module named after the file: a
    `__main__.py` would run the package's CLI (and sys.exit) inside the scheduler and every task."""
    code = (
        "from airflow import plugins_manager as pm; pm.ensure_plugins_loaded(); "
        "import json; print('LOADED ' + json.dumps(pm.import_errors))"
    )
    env = {**airflow_env, "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    loaded = [line for line in proc.stdout.splitlines() if line.startswith("LOADED ")]
    assert loaded == ["LOADED {}"], output[-3000:]
