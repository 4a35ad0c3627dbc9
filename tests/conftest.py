"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest
from support.gcp_fakes import GCP_ENV
from support.net import HttpServer
from support.postgres import start_postgres_container, stop_postgres_container

# Airflow reads its configuration when first imported: keep host-side tests away from
# ~/airflow and from the example DAGs.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-lite-tests-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(scope="session")
def postgres_server_url():
    """Admin URL of a real Postgres server: $TEST_POSTGRES_URL, or a container started for this run."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    name, url = start_postgres_container()
    try:
        yield url
    finally:
        stop_postgres_container(name)


@pytest.fixture
def postgres_url(postgres_server_url):
    """URL of a fresh, empty database on the test server (dropped afterwards)."""
    db = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db}"')
    base, _ = postgres_server_url.rsplit("/", 1)
    try:
        yield f"{base}/{db}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server for this test: serves tmp_path/served (`.root`), answers can be scripted."""
    root = tmp_path / "served"
    root.mkdir()
    with HttpServer(root) as server:
        yield server


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def dagbag():
    """dags/ parsed in this process, as the scheduler would, without any Google setting or key."""
    from airflow.models import DagBag

    with pytest.MonkeyPatch.context() as mp:
        for name in GCP_ENV:
            mp.delenv(name, raising=False)
        return DagBag(dag_folder=str(REPO / "dags"), include_examples=False)


_FIGURES: list[str] = []


@pytest.fixture(scope="session")
def figures() -> list[str]:
    """Measured figures (timings, sizes) printed at the end of the run."""
    return _FIGURES


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ in the checkout: screenshots and logs kept after the run."""
    path = REPO / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("measured")
        for line in _FIGURES:
            terminalreporter.write_line(line)
