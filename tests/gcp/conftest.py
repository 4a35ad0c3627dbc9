"""Fixtures of the GCS/BigQuery tests: a real GCS emulator, a fake BigQuery, the hooks the DAG uses."""

from __future__ import annotations

import uuid

import pytest
from support.gcp_fakes import DATASET, GCP_ENV, PROJECT, FakeBigQuery, GcsEmulator, anonymous_conn_uri


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


@pytest.fixture
def gcs_hook(emulator_env):
    """Airflow's GCSHook on the default connection (anonymous, to the emulator), as the DAG builds it."""
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    return GCSHook()


@pytest.fixture
def bq_client(fake_bigquery):
    """The BigQuery client the DAG gets from BigQueryHook, here talking to the fake."""
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    return BigQueryHook(use_legacy_sql=False).get_client(project_id=PROJECT)
