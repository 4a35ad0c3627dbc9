"""A real DagRun of LocalIngestionDag loads a month (its shape: tests/dags/test_dag_integrity.py)."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
from support.airflow_run import fresh_airflow_env, run_dag
from support.taxidata import make_trips, write_csv


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    """A fresh Airflow (own home, migrated SQLite DB) seeing our dags/ and taxi_ingest."""
    return fresh_airflow_env(tmp_path_factory.mktemp("airflow_home"), drop=("TAXI_",))


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_a_dag_run_loads_the_month_of_every_taxi_type(airflow_env, postgres_url, http_server, tmp_path):
    """Real DagRun (dag.test): Variable and Connection from the environment, files from a local server."""
    root = http_server.root
    write_csv(make_trips("yellow", "2021-03", 3000, seed=1), root / "yellow_tripdata_2021-03.csv.gz",
              float_ints=True)
    write_csv(make_trips("green", "2021-03", 2000, seed=2), root / "green_tripdata_2021-03.csv.gz")
    write_csv(make_trips("fhv", "2021-03", 1000, seed=3), root / "fhv_tripdata_2021-03.csv.gz")
    target = postgres_url.rsplit("/", 1)[0] + "/ny_taxi_dag_" + Path(postgres_url).name  # created by the DAG
    env = {
        **airflow_env,
        "AIRFLOW_VAR_TAXI_URL_TEMPLATE": http_server.url + "/{taxi}_tripdata_{year}-{month}.csv.gz",
        "AIRFLOW_CONN_NY_TAXI_POSTGRES": target,
        "TAXI_DATA_DIR": str(tmp_path / "data"),
    }
    try:
        for _ in range(2):  # a rerun of the same month replaces it and reuses the downloads
            result, output = run_dag(env, "LocalIngestionDag", "2021-03-02T06:00:00+00:00", timeout=500)
            assert result.get("state") == "success", (result, output[-5000:])
            assert set(result["tasks"].values()) == {"success"} and len(result["tasks"]) == 9
        with psycopg2.connect(target) as conn, conn.cursor() as cur:
            counts = {}
            for taxi in ("yellow", "green", "fhv"):
                cur.execute(f"SELECT month::text, count(*) FROM {taxi}_tripdata GROUP BY 1")
                counts[taxi] = cur.fetchall()
        conn.close()
        assert counts == {"yellow": [("2021-03-01", 3000)], "green": [("2021-03-01", 2000)],
                          "fhv": [("2021-03-01", 1000)]}
        assert http_server.hits["/yellow_tripdata_2021-03.csv.gz"] == 1
    finally:
        admin = psycopg2.connect(postgres_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{target.rsplit("/", 1)[1]}" WITH (FORCE)')
        admin.close()
