"""BigQuery external/partitioned tables, against a local fake of the BigQuery REST API.

The real google-cloud-bigquery client (built by Airflow's BigQueryHook from the connection) talks
to the fake through BIGQUERY_EMULATOR_HOST; the tests check the table definitions it sends.
"""

from __future__ import annotations

import pytest
from support.gcp_fakes import DATASET, PROJECT

from taxi_ingest import gcp
from taxi_ingest.errors import IngestError

TABLES = f"/bigquery/v2/projects/{PROJECT}/datasets/{DATASET}/tables"


def _table_calls(server):
    return [(r.method, r.path) for r in server.requests if r.path.startswith(TABLES)]


def test_first_run_creates_one_external_table_over_the_whole_prefix(fake_bigquery, bq_client):
    table_id = gcp.ensure_external_table(bq_client, PROJECT, DATASET, "yellow", "my-bucket")

    assert table_id == f"{PROJECT}.{DATASET}.external_yellow_tripdata"
    assert _table_calls(fake_bigquery) == [
        ("GET", f"{TABLES}/external_yellow_tripdata"),
        ("POST", TABLES),
    ]
    sent = fake_bigquery.calls("POST")[0].json()
    assert sent["tableReference"] == {
        "projectId": PROJECT,
        "datasetId": DATASET,
        "tableId": "external_yellow_tripdata",
    }
    ext = sent["externalDataConfiguration"]
    assert ext["sourceUris"] == ["gs://my-bucket/raw/yellow/*"]
    assert ext["sourceFormat"] == "PARQUET"
    assert "schema" not in sent  # parquet carries its own schema
    assert list(fake_bigquery.tables) == [f"{PROJECT}.{DATASET}.external_yellow_tripdata"]


def test_second_run_updates_the_existing_table(fake_bigquery, bq_client):
    gcp.ensure_external_table(bq_client, PROJECT, DATASET, "yellow", "my-bucket")
    fake_bigquery.requests.clear()

    gcp.ensure_external_table(bq_client, PROJECT, DATASET, "yellow", "other-bucket")

    calls = _table_calls(fake_bigquery)
    assert ("POST", TABLES) not in calls
    assert calls[-1] == ("PATCH", f"{TABLES}/external_yellow_tripdata")
    patch = fake_bigquery.calls("PATCH")[-1]
    body = patch.json()
    assert body["externalDataConfiguration"]["sourceUris"] == ["gs://other-bucket/raw/yellow/*"]
    assert body["externalDataConfiguration"]["sourceFormat"] == "PARQUET"
    assert set(body) == {"externalDataConfiguration"}  # only the field we own is patched
    assert patch.headers.get("If-Match")  # the etag from GET: no lost update
    table = fake_bigquery.tables[f"{PROJECT}.{DATASET}.external_yellow_tripdata"]
    assert table["externalDataConfiguration"]["sourceUris"] == ["gs://other-bucket/raw/yellow/*"]
    assert len(fake_bigquery.tables) == 1


def test_one_table_per_taxi_type(fake_bigquery, bq_client):
    for taxi in ("yellow", "green", "fhv"):
        gcp.ensure_external_table(bq_client, PROJECT, DATASET, taxi, "b")
    uris = {
        key.rsplit(".", 1)[1]: t["externalDataConfiguration"]["sourceUris"]
        for key, t in fake_bigquery.tables.items()
    }
    assert uris == {
        "external_yellow_tripdata": ["gs://b/raw/yellow/*"],
        "external_green_tripdata": ["gs://b/raw/green/*"],
        "external_fhv_tripdata": ["gs://b/raw/fhv/*"],
    }


def test_table_created_meanwhile_is_updated(fake_bigquery, bq_client, monkeypatch):
    """GET says 404, but another run creates the table before our insert: 409, then update."""
    key = f"{PROJECT}.{DATASET}.external_green_tripdata"
    original = fake_bigquery.answer

    def racing(rec):
        if rec.method == "POST" and rec.path == TABLES and key not in fake_bigquery.tables:
            fake_bigquery.tables[key] = {
                "tableReference": {
                    "projectId": PROJECT,
                    "datasetId": DATASET,
                    "tableId": key.rsplit(".")[-1],
                },
                "etag": "e1",
            }
        return original(rec)

    monkeypatch.setattr(fake_bigquery, "answer", racing)
    gcp.ensure_external_table(bq_client, PROJECT, DATASET, "green", "b")
    assert [m for m, _ in _table_calls(fake_bigquery)] == ["GET", "POST", "GET", "PATCH"]
    assert fake_bigquery.tables[key]["externalDataConfiguration"]["sourceUris"] == ["gs://b/raw/green/*"]


def test_missing_dataset_says_what_to_do(fake_bigquery, bq_client):
    with pytest.raises(IngestError) as err:
        gcp.ensure_external_table(bq_client, PROJECT, "no_such_dataset", "yellow", "b")
    message = str(err.value)
    assert f"{PROJECT}:no_such_dataset" in message
    assert "BIGQUERY_DATASET" in message


def test_partitioned_table_by_pickup_date(fake_bigquery, bq_client):
    target = gcp.ensure_partitioned_table(bq_client, PROJECT, DATASET, "green")

    assert target == f"{PROJECT}.{DATASET}.green_tripdata_partitioned"
    jobs = [r for r in fake_bigquery.calls("POST") if r.path == f"/bigquery/v2/projects/{PROJECT}/jobs"]
    assert len(jobs) == 1
    query = jobs[0].json()["configuration"]["query"]
    assert query["useLegacySql"] is False
    sql = " ".join(query["query"].split())
    assert sql == (
        f"CREATE OR REPLACE TABLE `{PROJECT}.{DATASET}.green_tripdata_partitioned` "
        "PARTITION BY DATE(`lpep_pickup_datetime`) "
        f"AS SELECT * FROM `{PROJECT}.{DATASET}.external_green_tripdata`"
    )


@pytest.mark.parametrize(
    ("taxi", "column"),
    [("yellow", "tpep_pickup_datetime"), ("fhv", "pickup_datetime")],
)
def test_partition_column_per_taxi_type(fake_bigquery, bq_client, taxi, column):
    gcp.ensure_partitioned_table(bq_client, PROJECT, DATASET, taxi)
    sql = fake_bigquery.calls("POST")[-1].json()["configuration"]["query"]["query"]
    assert f"PARTITION BY DATE(`{column}`)" in sql
