"""Months whose source types drift still give one parquet schema per taxi type.

BigQuery's external table reads every file under gs://<bucket>/raw/<taxi>/* with one schema, so
each month's parquet must have exactly the same schema, whatever the month's source looked like.
"""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taxi_ingest import gcp

YELLOW_HEADER = (
    "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,"
    "store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,"
    "tolls_amount,improvement_surcharge,total_amount,congestion_surcharge"
).split(",")


INT_COLUMNS = ("VendorID", "passenger_count", "RatecodeID", "PULocationID", "DOLocationID", "payment_type")


def _yellow_row(i: int, month: str, as_float: bool) -> dict[str, str]:
    def n(v: int) -> str:
        return f"{v}.0" if as_float else str(v)

    day = 1 + i % 28
    return {
        "VendorID": n(1 + i % 2) if i % 10 else "",  # some rows have no VendorID
        "tpep_pickup_datetime": f"{month}-{day:02d} 00:{i % 60:02d}:10",
        "tpep_dropoff_datetime": f"{month}-{day:02d} 01:{i % 60:02d}:10",
        "passenger_count": n(i % 4) if i % 7 else "",
        "trip_distance": f"{i * 0.3:.2f}",
        "RatecodeID": n(1),
        "store_and_fwd_flag": "N" if i % 5 else "Y",
        "PULocationID": n(100 + i % 50),
        "DOLocationID": n(200 + i % 30),
        "payment_type": n(1 + i % 3),
        "fare_amount": f"{5 + i % 20}.5",
        "extra": "0.5",
        "mta_tax": "0.5",
        "tip_amount": "1.25",
        "tolls_amount": "0",
        "improvement_surcharge": "0.3",
        "total_amount": f"{8 + i % 20}.05",
        "congestion_surcharge": "2.5",
    }


def _write_csv_gz(path, header: list[str], rows: list[dict[str, str]], rename=lambda c: c):
    lines = [",".join(rename(c) for c in header)]
    lines += [",".join(r[c] for c in header) for r in rows]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


@pytest.fixture
def drifting_months(tmp_path):
    """January: ints as ints. February: ints written as floats, no congestion_surcharge column,
    upper-case header. March: a TLC-style parquet with int64/double types and "Airport_fee"."""
    jan = _write_csv_gz(
        tmp_path / "yellow_tripdata_2021-01.csv.gz",
        YELLOW_HEADER,
        [_yellow_row(i, "2021-01", as_float=False) for i in range(250)],
    )
    feb_header = [c for c in YELLOW_HEADER if c != "congestion_surcharge"]
    feb = _write_csv_gz(
        tmp_path / "yellow_tripdata_2021-02.csv.gz",
        feb_header,
        [_yellow_row(i, "2021-02", as_float=True) for i in range(180)],
        rename=str.upper,
    )
    mar_rows = [_yellow_row(i, "2021-03", as_float=False) for i in range(90)]
    columns = {}
    for c in YELLOW_HEADER:
        values = [r[c] or None for r in mar_rows]
        if c.endswith("datetime"):
            columns[c] = pa.array(values).cast(pa.timestamp("us"))
        elif c == "store_and_fwd_flag":
            columns[c] = pa.array(values)
        elif c in INT_COLUMNS:
            # passenger_count as double (as in some TLC months), the rest int64
            typ = pa.float64() if c == "passenger_count" else pa.int64()
            columns[c] = pa.array([None if v is None else int(v) for v in values], typ)
        else:
            columns[c] = pa.array([float(v) for v in values], pa.float64())
    columns["Airport_fee"] = pa.array([0.0] * len(mar_rows), pa.float64())  # TLC spelling since 2023
    mar = tmp_path / "yellow_tripdata_2021-03.parquet"
    pq.write_table(pa.table(columns), mar)
    return {"2021-01": (jan, 250), "2021-02": (feb, 180), "2021-03": (mar, 90)}


def test_drifting_months_give_byte_identical_parquet_schemas(drifting_months):
    results = {}
    for month, (src, rows) in drifting_months.items():
        dst = gcp.normalized_path(src)
        if month == "2021-03":
            assert dst != src  # a parquet source is not overwritten by its normalized copy
        assert gcp.convert_month(str(src), "yellow") == str(dst)
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
    src, _ = drifting_months["2021-02"]
    dst = gcp.normalized_path(src)
    gcp.convert_month(str(src), "yellow")
    table = pq.read_table(dst)
    passengers = table.column("passenger_count")
    assert pa.types.is_integer(passengers.type)
    expected = [None if i % 7 == 0 else i % 4 for i in range(180)]
    assert passengers.to_pylist() == expected
    assert table.column("congestion_surcharge").null_count == 180  # missing that month


def test_converted_months_upload_with_one_schema(drifting_months, storage_client, bucket):
    """Through the whole GCS path: every object under raw/yellow/ reads back with one schema."""
    for month, (src, _) in drifting_months.items():
        dst = gcp.normalized_path(src)
        gcp.convert_month(str(src), "yellow")
        gcp.upload_to_gcs(dst, bucket, gcp.object_name("yellow", month, src.name))
    schemas, rows = set(), 0
    for blob in storage_client.list_blobs(bucket, prefix="raw/yellow/"):
        f = pq.ParquetFile(io.BytesIO(blob.download_as_bytes()))
        schemas.add(f.schema_arrow.serialize().to_pybytes())
        rows += f.metadata.num_rows
    assert len(schemas) == 1
    assert rows == 250 + 180 + 90
