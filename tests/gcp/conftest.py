"""Fixtures of the GCS/BigQuery tests: a real GCS emulator, a fake BigQuery, parquet files."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path

import pytest

# Airflow reads its config when first imported: keep it away from ~/airflow and from example DAGs.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-lite-gcp-tests-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from gcp.servers import FakeBigQuery, GcsEmulator  # noqa: E402

PROJECT = "airflow-lite-test"
DATASET = "trips_data_all"

# Env vars the pipeline reads; every test starts without them.
GCP_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCP_KEY_FILE",
    "GCP_PROJECT_ID",
    "GCP_GCS_BUCKET",
    "BIGQUERY_DATASET",
    "STORAGE_EMULATOR_HOST",
    "BIGQUERY_EMULATOR_HOST",
    "BIGQUERY_PARTITIONED_TABLE",
    "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
    "GOOGLE_CLOUD_PROJECT",
    "API_ENDPOINT_OVERRIDE",
)


def anonymous_conn_uri(project: str = PROJECT) -> str:
    """The connection for an emulator: no key, anonymous credentials (URI form)."""
    return f"google-cloud-platform://?is_anonymous=true&project={project}"


def anonymous_conn_json(project: str = PROJECT) -> str:
    """The same connection in the JSON form of AIRFLOW_CONN_* (Airflow >= 2.3)."""
    return json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": project}}
    )


@pytest.fixture(autouse=True)
def clean_gcp_env(monkeypatch):
    for name in GCP_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def gcs_emulator():
    emulator = GcsEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emulator_env(gcs_emulator, monkeypatch):
    """Point google-cloud-storage and GCSHook's default connection at the emulator."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.url)
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", anonymous_conn_uri())
    return gcs_emulator


@pytest.fixture
def storage_client(emulator_env):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=PROJECT, credentials=AnonymousCredentials())


@pytest.fixture
def bucket(storage_client):
    """A fresh bucket in the emulator for each test."""
    b = storage_client.create_bucket(f"taxi-{uuid.uuid4().hex[:12]}")
    return b.name


@pytest.fixture
def fake_bigquery(monkeypatch):
    server = FakeBigQuery(datasets={f"{PROJECT}.{DATASET}"}).start()
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", server.url)
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", anonymous_conn_uri())
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def write_trips_parquet(path: Path, rows: int, month: str = "2021-01", seed: int = 0) -> Path:
    """A small yellow-taxi-like parquet file written with pyarrow."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    year, mm = (int(p) for p in month.split("-"))
    start = dt.datetime(year, mm, 1)
    table = pa.table(
        {
            "VendorID": pa.array([(i + seed) % 2 + 1 for i in range(rows)], pa.int32()),
            "tpep_pickup_datetime": pa.array(
                [start + dt.timedelta(minutes=7 * i) for i in range(rows)], pa.timestamp("us")
            ),
            "passenger_count": pa.array([(i * 3 + seed) % 5 for i in range(rows)], pa.int32()),
            "trip_distance": pa.array([round(0.1 * i + seed, 2) for i in range(rows)], pa.float64()),
            "store_and_fwd_flag": pa.array(["N" if i % 7 else "Y" for i in range(rows)], pa.string()),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def fake_service_account_key(secret: str = "SECRET-PRIVATE-KEY-MATERIAL") -> dict:
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n",
        "client_email": f"ingest@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
