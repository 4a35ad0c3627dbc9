"""Uploads to a real GCS API emulator, through google-cloud-storage and through Airflow's GCSHook."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from support.gcp_fakes import PROJECT, RecordingProxy, anonymous_conn_json
from support.taxidata import make_trips, write_parquet

from taxi_ingest import gcp
from taxi_ingest.errors import IngestError


def month_parquet(path, rows: int, month: str = "2021-01", seed: int = 0):
    return write_parquet(make_trips("yellow", month, rows, seed=seed), path)


def _download_table(storage_client, bucket: str, name: str):
    data = storage_client.bucket(bucket).blob(name).download_as_bytes()
    return data, pq.read_table(io.BytesIO(data))


@pytest.mark.parametrize(
    ("taxi", "month", "filename", "expected"),
    [
        (
            "yellow",
            "2021-01",
            "yellow_tripdata_2021-01.csv.gz",
            "raw/yellow/2021/yellow_tripdata_2021-01.parquet",
        ),
        (
            "green",
            "2020-12",
            "green_tripdata_2020-12.parquet",
            "raw/green/2020/green_tripdata_2020-12.parquet",
        ),
        (
            "fhv",
            "2019-07",
            "/opt/airflow/data/fhv/fhv_tripdata_2019-07.csv",
            "raw/fhv/2019/fhv_tripdata_2019-07.parquet",
        ),
    ],
)
def test_object_name(taxi, month, filename, expected):
    assert gcp.object_name(taxi, month, filename) == expected


@pytest.mark.parametrize(
    ("taxi", "month"),
    [("purple", "2021-01"), ("yellow", "2021-13"), ("yellow", "202101"), ("../x", "2021-01")],
)
def test_object_name_rejects_bad_input(taxi, month):
    with pytest.raises(IngestError):
        gcp.object_name(taxi, month, "yellow_tripdata_2021-01.csv.gz")


def test_plain_storage_client_round_trip(storage_client, bucket, tmp_path):
    """The emulator speaks the real client's protocol, including resumable (chunked) uploads."""
    src = month_parquet(tmp_path / "yellow_tripdata_2021-01.parquet", 5000)
    blob = storage_client.bucket(bucket).blob("raw/yellow/2021/x.parquet", chunk_size=256 * 1024)
    blob.upload_from_filename(str(src))
    data, table = _download_table(storage_client, bucket, "raw/yellow/2021/x.parquet")
    assert data == src.read_bytes()
    assert table.num_rows == 5000


@pytest.mark.parametrize("conn_form", ["uri", "json"])
def test_upload_to_gcs_through_gcshook(storage_client, bucket, tmp_path, monkeypatch, conn_form):
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    if conn_form == "json":
        monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", anonymous_conn_json())
    gcs_hook = GCSHook()
    src = month_parquet(tmp_path / "parquet" / "yellow_tripdata_2021-01.parquet", 1234)
    name = gcp.object_name("yellow", "2021-01", src.name)

    uri = gcp.upload_to_gcs(gcs_hook, src, bucket, name)

    assert uri == f"gs://{bucket}/raw/yellow/2021/yellow_tripdata_2021-01.parquet"
    blobs = list(storage_client.list_blobs(bucket))
    assert [b.name for b in blobs] == ["raw/yellow/2021/yellow_tripdata_2021-01.parquet"]
    assert blobs[0].size == src.stat().st_size
    data, table = _download_table(storage_client, bucket, name)
    assert data == src.read_bytes()
    assert table.num_rows == 1234
    assert table.schema.equals(pq.read_schema(src))


def test_gcshook_uses_the_connection_project(emulator_env):
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    client = GCSHook().get_conn()
    assert client.project == PROJECT
    assert client._connection.API_BASE_URL == emulator_env.url


def test_reupload_of_a_month_replaces_the_object(storage_client, bucket, gcs_hook, tmp_path):
    name = gcp.object_name("yellow", "2021-02", "yellow_tripdata_2021-02.csv.gz")
    first = month_parquet(tmp_path / "a" / "yellow_tripdata_2021-02.parquet", 300, month="2021-02")
    second = month_parquet(tmp_path / "b" / "yellow_tripdata_2021-02.parquet", 120, month="2021-02", seed=9)
    assert first.read_bytes() != second.read_bytes()

    gcp.upload_to_gcs(gcs_hook, first, bucket, name)
    gcp.upload_to_gcs(gcs_hook, second, bucket, name)

    blobs = list(storage_client.list_blobs(bucket, prefix="raw/yellow/"))
    assert [b.name for b in blobs] == [name]
    assert blobs[0].size == second.stat().st_size
    data, table = _download_table(storage_client, bucket, name)
    assert data == second.read_bytes()
    assert table.num_rows == 120


def test_months_of_a_year_sit_side_by_side(storage_client, bucket, gcs_hook, tmp_path):
    for month in ("2021-01", "2021-02", "2020-12"):
        src = month_parquet(tmp_path / month / f"green_tripdata_{month}.parquet", rows=10, month=month)
        gcp.upload_to_gcs(gcs_hook, src, bucket, gcp.object_name("green", month, src.name))
    assert sorted(b.name for b in storage_client.list_blobs(bucket)) == [
        "raw/green/2020/green_tripdata_2020-12.parquet",
        "raw/green/2021/green_tripdata_2021-01.parquet",
        "raw/green/2021/green_tripdata_2021-02.parquet",
    ]


def _write_big_parquet(path, mib: int):
    """A parquet file of about `mib` MiB (incompressible payload), plus a row count to check."""
    import os

    import pyarrow as pa

    rows = mib * 1024
    table = pa.table(
        {"n": pa.array(range(rows), pa.int64()), "payload": [os.urandom(1024) for _ in range(rows)]}
    )
    pq.write_table(table, path, compression="none")
    return path, rows


@pytest.fixture
def recording_proxy(gcs_emulator, monkeypatch):
    """Route the GCS clients through a proxy that records every request to the emulator."""
    proxy = RecordingProxy(gcs_emulator.port).start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    try:
        yield proxy
    finally:
        proxy.stop()


def test_small_file_is_uploaded_exactly_once(bucket, recording_proxy, gcs_hook, tmp_path):
    src = month_parquet(tmp_path / "yellow_tripdata_2021-04.parquet", 500, month="2021-04")
    gcp.upload_to_gcs(gcs_hook, src, bucket, gcp.object_name("yellow", "2021-04", src.name))
    uploads = [r for r in recording_proxy.requests if r.path.startswith("/upload/")]
    assert [(r.method, r.query["uploadType"]) for r in uploads] == [("POST", ["multipart"])]


def test_large_file_goes_up_in_chunks(storage_client, bucket, recording_proxy, gcs_hook, tmp_path):
    """Over 8 MiB: one resumable session, one PUT per chunk of chunk_size, content intact."""
    src, rows = _write_big_parquet(tmp_path / "yellow_tripdata_2021-03.parquet", mib=9)
    size = src.stat().st_size
    chunk = 1024 * 1024
    name = gcp.object_name("yellow", "2021-03", src.name)

    gcp.upload_to_gcs(gcs_hook, src, bucket, name, chunk_size=chunk)

    uploads = [r for r in recording_proxy.requests if r.path.startswith("/upload/")]
    starts = [r for r in uploads if r.method == "POST"]
    puts = [r for r in uploads if r.method == "PUT"]
    assert [r.query.get("uploadType") for r in starts] == [["resumable"]]
    assert len(puts) == -(-size // chunk)
    assert [len(p.body) for p in puts[:-1]] == [chunk] * (len(puts) - 1)
    assert sum(len(p.body) for p in puts) == size
    data, table = _download_table(storage_client, bucket, name)
    assert data == src.read_bytes()
    assert table.num_rows == rows


def test_upload_of_a_missing_file_fails_clearly(gcs_hook, tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        gcp.upload_to_gcs(gcs_hook, tmp_path / "nope.parquet", "bucket", "raw/yellow/2021/nope.parquet")
