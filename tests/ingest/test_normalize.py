"""The normalizer: every edition read into the canonical schema, conversion to parquet, and the CSV byte
fixes used by the COPY fast path."""

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.taxidata import make_trips, write_csv, write_parquet

from taxi_ingest.csvstream import count_data_rows, fix_chunk, iter_line_chunks, open_binary, read_header
from taxi_ingest.errors import CorruptFileError, SchemaError, WrongMonthError
from taxi_ingest.normalize import convert_to_parquet, iter_normalized_batches
from taxi_ingest.schemas import arrow_schema


def _read_all(path, taxi):
    batches = list(iter_normalized_batches(path, taxi))
    for batch in batches:
        assert batch.schema == arrow_schema(taxi)
    return pa.Table.from_batches(batches, schema=arrow_schema(taxi))


def test_fix_chunk_drops_float_zeros_only_at_field_ends():
    piece = b"1.0,2021-01-01 00:00:10.0,2.10,0.5,10.0,-3.0\n2.0,,1.05,3.0,0,N\r\n"
    assert fix_chunk(piece) == b"1,2021-01-01 00:00:10,2.10,0.5,10,-3\n2,,1.05,3,0,N\r\n"


def test_blank_lines_after_the_header_are_skipped(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n\r\n\n1.0,2\n3,4.0\r\n")
    with open_binary(path) as stream:
        read_header(stream, path)
        assert b"".join(iter_line_chunks(stream, path)) == b"1,2\n3,4\r\n"
    assert count_data_rows(path) == 2


def test_line_chunks_are_whole_lines_whatever_the_read_size(tmp_path):
    path = tmp_path / "x.csv"
    lines = [f"{i}.0,{i * 1.5},text{i}" for i in range(500)]
    path.write_text("a,b,c\n" + "\n".join(lines))  # no final newline
    expected = "".join(f"{i},{i * 1.5},text{i}\n" for i in range(500)).replace(".0,", ",").encode()
    for size in (1, 7, 64, 1 << 20):
        with open_binary(path) as stream:
            read_header(stream, path)
            chunks = list(iter_line_chunks(stream, path, size=size))
        assert all(c.endswith(b"\n") for c in chunks)
        assert b"".join(chunks) == expected
    assert count_data_rows(path) == 500


def test_csv_with_float_ints_case_changes_and_missing_columns(tmp_path):
    table = make_trips("yellow", "2021-01", 2000, seed=1)
    path = write_csv(table, tmp_path / "yellow_tripdata_2021-01.csv.gz", float_ints=True,
                     rename={"VendorID": "vendorid", "tpep_pickup_datetime": "TPEP_pickup_datetime"},
                     drop=("airport_fee",), blank_after_header=True)
    got = _read_all(path, "yellow")
    assert got.num_rows == 2000
    assert got["VendorID"].to_pylist() == table["VendorID"].to_pylist()
    assert got["passenger_count"].null_count == table["passenger_count"].null_count > 0
    assert got["airport_fee"].null_count == 2000
    assert got["tpep_pickup_datetime"].to_pylist() == table["tpep_pickup_datetime"].to_pylist()
    assert got["fare_amount"].to_pylist() == table["fare_amount"].to_pylist()


def test_parquet_type_drift_is_cast_to_the_canonical_types(tmp_path):
    table = make_trips("green", "2020-05", 1000, seed=2)
    path = write_parquet(
        table, tmp_path / "green_tripdata_2020-05.parquet", rename={"ehail_fee": "EHAIL_FEE"},
        types={"passenger_count": pa.float64(), "VendorID": pa.int64(), "ehail_fee": pa.null(),
               "lpep_pickup_datetime": pa.timestamp("ns"), "store_and_fwd_flag": pa.large_string(),
               "trip_type": pa.string(), "fare_amount": pa.decimal128(12, 2)},
        drop=("congestion_surcharge",),
    )
    got = _read_all(path, "green")
    assert got["passenger_count"].to_pylist() == table["passenger_count"].to_pylist()
    assert got["trip_type"].to_pylist() == table["trip_type"].to_pylist()
    assert got["lpep_pickup_datetime"].to_pylist() == table["lpep_pickup_datetime"].to_pylist()
    assert got["fare_amount"].to_pylist() == table["fare_amount"].to_pylist()
    assert got["congestion_surcharge"].null_count == 1000


def test_fhv_int_flag_becomes_text(tmp_path):
    table = make_trips("fhv", "2019-02", 300, seed=3)
    path = write_parquet(table, tmp_path / "f.parquet", types={"SR_Flag": pa.float64()})
    got = _read_all(path, "fhv")
    assert set(got["SR_Flag"].drop_null().to_pylist()) == {"1"}


def test_a_real_fraction_in_an_int_column_is_an_error_naming_it(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count\n"
                    "2021-01-01 00:00:00,2021-01-01 00:10:00,1.0\n"
                    "2021-01-01 00:00:00,2021-01-01 00:10:00,1.5\n")
    with pytest.raises(SchemaError, match="passenger_count"):
        _read_all(path, "yellow")


def test_an_unknown_extra_column_is_an_error_naming_it(tmp_path):
    table = make_trips("yellow", "2021-01", 10).append_column("surprise_fee", pa.array([1.0] * 10))
    path = tmp_path / "y.parquet"
    pq.write_table(table, path)
    with pytest.raises(SchemaError, match="surprise_fee"):
        _read_all(path, "yellow")


def test_truncated_gzip_is_reported(tmp_path):
    path = write_csv(make_trips("yellow", "2021-01", 20000), tmp_path / "y.csv.gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated"):
        _read_all(path, "yellow")


def test_convert_writes_the_same_schema_for_every_month(tmp_path):
    jan = write_csv(make_trips("yellow", "2021-01", 3000, seed=4), tmp_path / "a.csv.gz",
                    float_ints=True, drop=("airport_fee",))
    feb = write_parquet(make_trips("yellow", "2022-02", 2000, seed=5), tmp_path / "b.parquet",
                        rename={"airport_fee": "Airport_fee"}, types={"passenger_count": pa.float64()})
    assert convert_to_parquet(jan, tmp_path / "jan.parquet", "yellow") == 3000
    assert convert_to_parquet(feb, tmp_path / "feb.parquet", "yellow") == 2000
    a, b = pq.ParquetFile(tmp_path / "jan.parquet"), pq.ParquetFile(tmp_path / "feb.parquet")
    assert a.schema_arrow == arrow_schema("yellow")
    assert a.schema_arrow.serialize().to_pybytes() == b.schema_arrow.serialize().to_pybytes()
    assert a.schema.equals(b.schema)  # the parquet schema itself
    assert a.metadata.metadata == b.metadata.metadata  # incl. the embedded ARROW:schema bytes
    assert pq.read_table(tmp_path / "feb.parquet")["passenger_count"].type == pa.int32()


def test_convert_is_atomic(tmp_path):
    src = tmp_path / "bad.csv.gz"
    good = gzip.compress(b"tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count\n"
                         + b"2021-01-01 00:00:00,2021-01-01 00:10:00,1\n" * 1000)
    src.write_bytes(good[:-30])
    dst = tmp_path / "out" / "x.parquet"
    dst.parent.mkdir()
    dst.write_bytes(b"old")
    with pytest.raises(CorruptFileError):
        convert_to_parquet(src, dst, "yellow")
    assert dst.read_bytes() == b"old"
    assert [p.name for p in dst.parent.iterdir()] == ["x.parquet"]


def test_convert_refuses_a_file_of_another_month(tmp_path):
    """The month rule of both pipelines (taxi_ingest.months): by name, then by the pickups."""
    feb = make_trips("yellow", "2021-02", 1000, seed=6)
    dst = tmp_path / "out.parquet"
    dst.write_bytes(b"old")
    named_feb = write_csv(feb, tmp_path / "yellow_tripdata_2021-02.csv.gz")
    with pytest.raises(WrongMonthError, match="_2021-02.csv.gz is named for 2021-02, not 2021-01"):
        convert_to_parquet(named_feb, dst, "yellow", "2021-01")
    named_jan = write_csv(feb, tmp_path / "yellow_tripdata_2021-01.csv.gz")
    wrong = r"only \d+ of 1000 pickups are in 2021-01; most are in 2021-02"
    with pytest.raises(WrongMonthError, match=wrong):
        convert_to_parquet(named_jan, dst, "yellow", "2021-01")
    assert dst.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.parquet", "yellow_tripdata_2021-01.csv.gz", "yellow_tripdata_2021-02.csv.gz"]


def test_convert_accepts_stray_trips_of_other_months(tmp_path):
    """Real files hold some trips of other months (clock errors): with 30% of them it is still this month."""
    src = write_csv(make_trips("green", "2021-04", 900, seed=7, outside_share=0.3),
                    tmp_path / "green_tripdata_2021-04.csv.gz")
    assert convert_to_parquet(src, tmp_path / "g.parquet", "green", "2021-04") == 900
