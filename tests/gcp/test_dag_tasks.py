"""The tasks of data_ingestion_gcs called as Airflow calls them: settings from the environment, hooks
from the connection, skip decisions; against the GCS emulator and the BigQuery fake."""

from __future__ import annotations

import pytest
from airflow.exceptions import AirflowSkipException
from support.gcp_fakes import DATASET, PROJECT
from support.taxidata import make_trips, write_csv, write_parquet

from taxi_ingest.errors import IngestError, WrongMonthError
from taxi_ingest.normalize import normalized_path


@pytest.fixture
def task(dagbag):
    """The python callable of one task of data_ingestion_gcs, by task id."""
    dag = dagbag.dags["data_ingestion_gcs"]
    return lambda task_id: dag.get_task(task_id).python_callable


@pytest.fixture
def pipeline_env(monkeypatch):
    monkeypatch.setenv("GCP_PROJECT_ID", PROJECT)
    monkeypatch.setenv("BIGQUERY_DATASET", DATASET)
    monkeypatch.setenv("GCP_GCS_BUCKET", "env-bucket")


def test_external_table_task_reads_env(task, fake_bigquery, pipeline_env):
    assert task("fhv.external_table")("fhv") == f"{PROJECT}.{DATASET}.external_fhv_tripdata"
    sent = fake_bigquery.calls("POST")[0].json()
    assert sent["externalDataConfiguration"]["sourceUris"] == ["gs://env-bucket/raw/fhv/*"]


def test_tasks_never_touch_real_bigquery_in_emulator_mode(task, pipeline_env, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("BIGQUERY_PARTITIONED_TABLE", "true")
    with pytest.raises(AirflowSkipException, match="BIGQUERY_EMULATOR_HOST"):
        task("yellow.external_table")("yellow")
    with pytest.raises(AirflowSkipException, match="BIGQUERY_EMULATOR_HOST"):
        task("yellow.partitioned_table")("yellow")


def test_partitioned_table_is_off_unless_flagged(task, fake_bigquery, pipeline_env, monkeypatch):
    with pytest.raises(AirflowSkipException, match="BIGQUERY_PARTITIONED_TABLE"):
        task("yellow.partitioned_table")("yellow")
    assert fake_bigquery.requests == []

    monkeypatch.setenv("BIGQUERY_PARTITIONED_TABLE", "true")
    assert task("yellow.partitioned_table")("yellow").endswith(".yellow_tripdata_partitioned")
    assert len(fake_bigquery.calls("POST")) == 1


def test_missing_env_is_named(task, fake_bigquery, monkeypatch):
    monkeypatch.setenv("GCP_PROJECT_ID", PROJECT)
    monkeypatch.setenv("GCP_GCS_BUCKET", "b")
    with pytest.raises(IngestError, match="BIGQUERY_DATASET is not set"):
        task("yellow.external_table")("yellow")
    assert fake_bigquery.requests == []


def test_upload_task_reads_the_bucket_from_env(task, storage_client, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("GCP_GCS_BUCKET", bucket)
    src = write_parquet(
        make_trips("fhv", "2021-05", 7), tmp_path / "fhv" / "parquet" / "fhv_tripdata_2021-05.parquet")
    assert (
        task("fhv.upload_to_gcs")(str(src), "fhv", "2021-05")
        == f"gs://{bucket}/raw/fhv/2021/fhv_tripdata_2021-05.parquet"
    )
    assert [b.name for b in storage_client.list_blobs(bucket)] == [
        "raw/fhv/2021/fhv_tripdata_2021-05.parquet"
    ]


def test_convert_task_writes_the_month_next_to_the_download(task, tmp_path):
    src = write_csv(make_trips("green", "2021-03", 300), tmp_path / "green" / "green_tripdata_2021-03.csv.gz")
    assert task("green.convert_to_parquet")(str(src), "green", "2021-03") == str(
        tmp_path / "green" / "parquet" / "green_tripdata_2021-03.parquet"
    )


@pytest.mark.parametrize(("served_as", "problem"), [
    ("yellow_tripdata_2021-01.csv.gz",
     r"yellow_tripdata_2021-01.csv.gz: only \d+ of 500 pickups are in 2021-01; most are in 2021-02"),
    ("yellow_tripdata_2021-02.csv.gz", r"yellow_tripdata_2021-02.csv.gz is named for 2021-02, not 2021-01"),
], ids=["pickups", "name"])
def test_a_file_of_another_month_is_refused_before_upload(task, dagbag, storage_client, bucket, tmp_path,
                                                          monkeypatch, served_as, problem):
    """February's trips for January's run, under January's name (caught by the pickups) or under
    their own (caught by the name): the convert task fails naming both months, so the upload, which
    takes its output, never runs, and no parquet file is left for a later run to pick up."""
    monkeypatch.setenv("GCP_GCS_BUCKET", bucket)
    src = write_csv(make_trips("yellow", "2021-02", 500, seed=3), tmp_path / "yellow" / served_as)
    with pytest.raises(WrongMonthError, match=problem):
        task("yellow.convert_to_parquet")(str(src), "yellow", "2021-01")
    assert not list(normalized_path(src).parent.glob("*"))
    upload = dagbag.dags["data_ingestion_gcs"].get_task("yellow.upload_to_gcs")
    assert upload.upstream_task_ids == {"yellow.convert_to_parquet"}
    assert list(storage_client.list_blobs(bucket)) == []
