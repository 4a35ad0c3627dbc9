"""Months whose source types drift still give one parquet schema per taxi type.

BigQuery's external table reads every file under gs://<bucket>/raw/<taxi>/* with one schema, so
each month's parquet must have exactly the same schema, whatever the month's source looked like.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.taxidata import make_trips, write_csv, write_parquet

from taxi_ingest import gcp
from taxi_ingest.normalize import convert_month, normalized_path
from taxi_ingest.schemas import YELLOW


@pytest.fixture
def drifting_months(tmp_path):
    """January: ints as ints. February: ints written as floats, no congestion_surcharge column,
    upper-case header. March: a TLC-style parquet with int64/double types and "Airport_fee".
    Month -> (file, rows, the generated table)."""
    jan, feb, mar = (make_trips("yellow", f"2021-0{m}", n, seed=m) for m, n in ((1, 250), (2, 180), (3, 90)))
    files = {
        "2021-01": write_csv(jan, tmp_path / "yellow_tripdata_2021-01.csv.gz", drop=("airport_fee",)),
        "2021-02": write_csv(feb, tmp_path / "yellow_tripdata_2021-02.csv.gz", float_ints=True,
                             drop=("airport_fee", "congestion_surcharge"),
                             rename={name: name.upper() for name in YELLOW.names}),
        "2021-03": write_parquet(mar, tmp_path / "yellow_tripdata_2021-03.parquet",
                                 rename={"airport_fee": "Airport_fee"},
                                 types={"passenger_count": pa.float64(), "VendorID": pa.int64(),
                                        "RatecodeID": pa.int64(), "fare_amount": pa.float64()}),
    }
    tables = {"2021-01": jan, "2021-02": feb, "2021-03": mar}
    return {month: (path, tables[month].num_rows, tables[month]) for month, path in files.items()}


def test_drifting_months_give_byte_identical_parquet_schemas(drifting_months):
    results = {}
    for month, (src, rows, _) in drifting_months.items():
        dst = normalized_path(src)
        if month == "2021-03":
            assert dst != src  # a parquet source is not overwritten by its normalized copy
        assert convert_month(str(src), "yellow", month) == dst
        meta = pq.read_metadata(dst)
        assert meta.num_rows == rows
        results[month] = (pq.read_schema(dst), meta.schema)

    (jan_arrow, jan_pq), *others = results.values()
    for arrow_schema, parquet_schema in others:
        assert parquet_schema.equals(jan_pq)
        assert arrow_schema.serialize().to_pybytes() == jan_arrow.serialize().to_pybytes()
    # Exact canonical names, in order, whatever case or columns the source had.
    assert jan_arrow.names[:3] == ["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime"]
    assert "airport_fee" in jan_arrow.names and "congestion_surcharge" in jan_arrow.names


def test_drifted_values_survive_normalization(drifting_months):
    src, rows, generated = drifting_months["2021-02"]
    table = pq.read_table(convert_month(str(src), "yellow", "2021-02"))
    passengers = table.column("passenger_count")
    assert pa.types.is_integer(passengers.type)
    assert passengers.to_pylist() == generated.column("passenger_count").to_pylist()
    assert passengers.null_count > 0  # the empty cells stayed empty
    assert table.column("congestion_surcharge").null_count == rows  # missing that month


def test_converted_months_upload_with_one_schema(drifting_months, storage_client, bucket, gcs_hook):
    """Through the whole GCS path: every object under raw/yellow/ reads back with one schema."""
    for month, (src, _, _) in drifting_months.items():
        dst = convert_month(str(src), "yellow", month)
        gcp.upload_to_gcs(gcs_hook, dst, bucket, gcp.object_name("yellow", month, src.name))
    schemas, rows = set(), 0
    for blob in storage_client.list_blobs(bucket, prefix="raw/yellow/"):
        f = pq.ParquetFile(io.BytesIO(blob.download_as_bytes()))
        schemas.add(f.schema_arrow.serialize().to_pybytes())
        rows += f.metadata.num_rows
    assert len(schemas) == 1
    assert rows == 250 + 180 + 90
