"""Loading months into a real Postgres: exact content, idempotence, atomicity, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2
import pyarrow as pa
import pytest
from support.fingerprint import db_fingerprint, file_fingerprint
from support.net import free_port
from support.taxidata import make_trips, write_csv, write_parquet

from taxi_ingest.errors import CorruptFileError, DataQualityError, SchemaError, WrongMonthError
from taxi_ingest.postgres import (
    check_month,
    ensure_database,
    load_month,
    load_zones,
    lost_server_reported_when_back,
    stored_rows,
    wait_for_server,
)

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
FHV_2019_NAMES = {"dropOff_datetime": "dropoff_datetime", "PUlocationID": "PULocationID",
                  "DOlocationID": "DOLocationID"}

# (id, taxi, month, how to write the file): quirks seen across months and editions.
CASES = [
    ("yellow-csvgz-float-ints", "yellow", "2021-01", lambda t, d: write_csv(
        t, d / "yellow_tripdata_2021-01.csv.gz", float_ints=True, blank_after_header=True,
        rename={"VendorID": "vendorid", "tpep_pickup_datetime": "Tpep_Pickup_Datetime"},
        drop=("airport_fee",))),
    ("yellow-parquet-drift", "yellow", "2022-03", lambda t, d: write_parquet(
        t, d / "yellow_tripdata_2022-03.parquet", rename={"airport_fee": "Airport_fee"},
        types={"passenger_count": pa.float64(), "RatecodeID": pa.float64(), "VendorID": pa.int64(),
               "tpep_pickup_datetime": pa.timestamp("ns")})),
    ("yellow-parquet-2025-cbd-fee", "yellow", "2025-02", lambda t, d: write_parquet(
        t, d / "yellow_tripdata_2025-02.parquet", rename={"airport_fee": "Airport_fee"})),
    ("green-csvgz-2025-cbd-fee", "green", "2025-03", lambda t, d: write_csv(
        t, d / "green_tripdata_2025-03.csv.gz")),
    ("yellow-plain-csv", "yellow", "2023-07", lambda t, d: write_csv(t, d / "yellow_tripdata_2023-07.csv")),
    ("green-csvgz-float-ints", "green", "2019-11", lambda t, d: write_csv(
        t, d / "green_tripdata_2019-11.csv.gz", float_ints=True, drop=("congestion_surcharge",))),
    ("green-parquet-null-type", "green", "2020-02", lambda t, d: write_parquet(
        t, d / "green_tripdata_2020-02.parquet", types={"ehail_fee": pa.null(),
                                                         "store_and_fwd_flag": pa.large_string()})),
    ("fhv-csvgz-2019-header", "fhv", "2019-04", lambda t, d: write_csv(
        t, d / "fhv_tripdata_2019-04.csv.gz", rename=FHV_2019_NAMES, drop=("Affiliated_base_number",))),
    ("fhv-parquet-float-flag", "fhv", "2021-06", lambda t, d: write_parquet(
        t, d / "fhv_tripdata_2021-06.parquet",
        types={"SR_Flag": pa.float64(), "PUlocationID": pa.float64()})),
]


def _month_file(tmp_path, taxi="yellow", month="2021-01", n=3000, seed=0, name=None, **kwargs):
    name = name or f"{taxi}_tripdata_{month}.csv.gz"
    return write_csv(make_trips(taxi, month, n, seed=seed), tmp_path / name, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_load_matches_the_file_exactly(postgres_url, tmp_path, case):
    _, taxi, month, write = case
    path = write(make_trips(taxi, month, 4000, seed=7), tmp_path)
    expected = file_fingerprint(path, taxi)
    assert load_month(postgres_url, path, taxi, month) == 4000
    assert check_month(postgres_url, path, taxi, month) == 4000
    assert db_fingerprint(postgres_url, taxi, month) == expected


def test_reloading_three_times_leaves_one_copy(postgres_url, tmp_path):
    jan = _month_file(tmp_path, month="2021-01", n=2000)
    feb = _month_file(tmp_path, month="2021-02", n=1500, seed=1)
    load_month(postgres_url, feb, "yellow", "2021-02")
    for _ in range(3):
        load_month(postgres_url, jan, "yellow", "2021-01")
    assert stored_rows(postgres_url, "yellow", "2021-01") == 2000
    assert stored_rows(postgres_url, "yellow", "2021-02") == 1500
    assert db_fingerprint(postgres_url, "yellow", "2021-01") == file_fingerprint(jan, "yellow")
    # A new edition of the month replaces exactly that month.
    (tmp_path / "v2").mkdir()
    jan_v2 = _month_file(tmp_path / "v2", n=1800, seed=9)
    load_month(postgres_url, jan_v2, "yellow", "2021-01")
    assert db_fingerprint(postgres_url, "yellow", "2021-01") == file_fingerprint(jan_v2, "yellow")
    assert db_fingerprint(postgres_url, "yellow", "2021-02") == file_fingerprint(feb, "yellow")
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'yellow_tripdata'::regclass")
        assert cur.fetchone()[0] == 2
        cur.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%loading%'")
        assert cur.fetchone()[0] == 0
    conn.close()


def test_stray_timestamps_still_count_as_the_files_month(postgres_url, tmp_path):
    path = _month_file(tmp_path, n=3000)
    fp = file_fingerprint(path, "yellow")
    assert fp["tpep_pickup_datetime"]["min"].year < 2021  # the generator's strays
    load_month(postgres_url, path, "yellow", "2021-01")
    stored = db_fingerprint(postgres_url, "yellow", "2021-01")
    assert stored["tpep_pickup_datetime"] == fp["tpep_pickup_datetime"]


def _truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _fraction(path: Path) -> Path:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[500].split(",")
    cells[header.index("passenger_count")] = "1.5"
    lines[500] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def _bad_timestamp(path: Path) -> Path:
    text = path.read_text()
    path.write_text(text.replace("2021-01-1", "2021-01-x", 1))
    return path


BAD_INPUTS = [
    ("green-as-yellow", lambda d: _month_file(d, taxi="green", name="yellow_tripdata_2021-01.csv.gz"),
     SchemaError, "lpep_pickup_datetime"),
    ("truncated-gzip", lambda d: _truncated(_month_file(d, n=20000)), CorruptFileError, "truncated"),
    ("another-month-by-content", lambda d: _month_file(d, month="2021-02", name="upload.csv.gz"),
     WrongMonthError, "most are in 2021-02"),
    ("another-month-by-name", lambda d: _month_file(d, month="2021-02"), WrongMonthError, "2021-02"),
    ("fraction-in-int-column", lambda d: _fraction(_month_file(d, name="y.csv")), SchemaError,
     "passenger_count"),
    ("bad-timestamp", lambda d: _bad_timestamp(_month_file(d, name="y.csv")), SchemaError,
     "tpep_pickup_datetime"),
    ("header-only", lambda d: _month_file(d, n=0), CorruptFileError, "no data rows"),
    ("corrupt-parquet", lambda d: _truncated(write_parquet(make_trips("yellow", "2021-01", 3000),
                                                           d / "yellow_tripdata_2021-01.parquet")),
     CorruptFileError, "parquet"),
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_fails_clearly_and_keeps_the_previous_rows(postgres_url, tmp_path, bad):
    _, make_bad, error, message = bad
    good = _month_file(tmp_path, n=2500, seed=3)
    load_month(postgres_url, good, "yellow", "2021-01")
    before = db_fingerprint(postgres_url, "yellow", "2021-01")
    (tmp_path / "bad").mkdir()
    with pytest.raises(error, match=message):
        load_month(postgres_url, make_bad(tmp_path / "bad"), "yellow", "2021-01")
    assert db_fingerprint(postgres_url, "yellow", "2021-01") == before


def test_check_month_fails_when_rows_are_missing(postgres_url, tmp_path):
    path = _month_file(tmp_path, n=1000)
    load_month(postgres_url, path, "yellow", "2021-01")
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM yellow_tripdata WHERE ctid IN (SELECT ctid FROM yellow_tripdata LIMIT 3)")
    conn.close()
    with pytest.raises(DataQualityError, match="997 rows stored but yellow_tripdata_2021-01.csv.gz has 1000"):
        check_month(postgres_url, path, "yellow", "2021-01")
    with pytest.raises(DataQualityError, match="0 rows stored"):
        check_month(postgres_url, path, "yellow", "2021-05")


def test_an_open_connection_can_be_passed(postgres_url, tmp_path):
    path = _month_file(tmp_path, n=500)
    conn = psycopg2.connect(postgres_url)
    conn.autocommit = True
    try:
        assert load_month(conn, path, "yellow", "2021-01") == 500
        assert check_month(conn, path, "yellow", "2021-01") == 500
        assert conn.autocommit is True and not conn.closed
    finally:
        conn.close()


def test_concurrent_loads_of_one_month_take_turns(postgres_url, tmp_path):
    path = _month_file(tmp_path, n=20000)
    errors = []

    def load():
        try:
            load_month(postgres_url, path, "yellow", "2021-01")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stored_rows(postgres_url, "yellow", "2021-01") == 20000


def test_zones_are_replaced_atomically(postgres_url, tmp_path):
    path = tmp_path / "taxi_zone_lookup.csv"
    path.write_text('"LocationID","Borough","Zone","service_zone"\n1,"EWR","Newark Airport","EWR"\n'
                    '2,"Queens","Jamaica Bay","Boro Zone"\n264,"Unknown","NV",\n')
    assert load_zones(postgres_url, path) == 3
    assert load_zones(postgres_url, path) == 3
    path.write_text("LocationID,Borough,Zone,service_zone\n1,EWR,Newark Airport,EWR\n2,Queens,x,y,z\n")
    with pytest.raises(SchemaError, match="extra data"):
        load_zones(postgres_url, path)
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute('SELECT "LocationID", "Zone", service_zone FROM taxi_zone_lookup ORDER BY 1')
        rows = cur.fetchall()
    assert rows == [(1, "Newark Airport", "EWR"), (2, "Jamaica Bay", "Boro Zone"), (264, "NV", None)]
    conn.close()


@pytest.fixture
def missing_database_url(postgres_server_url):
    """URL of a database that does not exist yet on the test server (dropped afterwards)."""
    name = f"ny_taxi_{uuid.uuid4().hex[:8]}"
    yield postgres_server_url.rsplit("/", 1)[0] + f"/{name}"
    admin = psycopg2.connect(postgres_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_ensure_database(missing_database_url):
    url = missing_database_url
    assert ensure_database(url) is True
    assert ensure_database(url.replace("postgresql://", "postgresql+psycopg2://")) is False
    psycopg2.connect(url).close()


def test_ensure_database_is_safe_when_many_loads_start_at_once(missing_database_url):
    """A fresh stack's first run starts several loads together: each must see success, one creates."""
    start = threading.Barrier(8)
    results: list = []

    def create():
        start.wait()
        try:
            results.append(ensure_database(missing_database_url))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results, key=repr) == [False] * 7 + [True], results


def _copy_progress(url: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy")
        value = cur.fetchone()[0]
    conn.close()
    return value


def _wait_for_no_other_sessions(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()")
            others = cur.fetchone()[0]
        conn.close()
        if others == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the killed loader's session never ended")


@pytest.mark.timeout(300)
def test_sigkill_mid_copy_leaves_the_old_month(postgres_url, tmp_path):
    old = _month_file(tmp_path, n=2000, seed=5)
    load_month(postgres_url, old, "yellow", "2021-01")
    before = db_fingerprint(postgres_url, "yellow", "2021-01")
    (tmp_path / "big").mkdir()
    big = _month_file(tmp_path / "big", n=1_000_000, seed=6, gzip_level=1)
    command = [sys.executable, "-m", "taxi_ingest", "load", "--taxi", "yellow", "--month", "2021-01",
               "--source", str(big), "--db-url", postgres_url]
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _copy_progress(postgres_url) < 50_000:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "COPY never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    _wait_for_no_other_sessions(postgres_url)
    assert db_fingerprint(postgres_url, "yellow", "2021-01") == before
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "1000000"
    assert stored_rows(postgres_url, "yellow", "2021-01") == 1_000_000


def test_a_2025_file_with_cbd_congestion_fee_loads_it(postgres_url, tmp_path):
    # written by hand, independent of the package's schema: the TLC's 2025 header and casing
    path = tmp_path / "yellow_tripdata_2025-02.csv"
    path.write_text(
        "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,"
        "store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,"
        "tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee,cbd_congestion_fee\n"
        "1,2025-02-01 00:10:00,2025-02-01 00:20:00,1,2.5,1,N,142,236,1,12.1,3.5,0.5,3,0,1,20.85,2.5,0,0.75\n"
        "2,2025-02-03 08:00:00,2025-02-03 08:30:00,2,7.1,1,N,132,48,2,35,0,0.5,0,6.94,1,46.69,2.5,1.75,0\n")
    assert load_month(postgres_url, path, "yellow", "2025-02") == 2
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(cbd_congestion_fee), sum(airport_fee) FROM yellow_tripdata")
        assert cur.fetchone() == (Decimal("0.75"), Decimal("1.75"))


def test_a_lost_connection_is_re_raised_once_the_server_answers(postgres_url):
    conn = psycopg2.connect(postgres_url)
    pid = conn.get_backend_pid()
    with pytest.raises(psycopg2.OperationalError):
        with lost_server_reported_when_back(postgres_url, timeout=10):
            with psycopg2.connect(postgres_url) as killer, killer.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.cursor().execute("SELECT 1")  # as the server restarting would, mid-load
    conn.close()


def test_waiting_for_a_server_that_never_answers_gives_up_after_the_timeout():
    t0 = time.monotonic()
    assert not wait_for_server(f"postgresql://nobody@127.0.0.1:{free_port()}/none", timeout=1.5, pause=0.2)
    assert 1.5 <= time.monotonic() - t0 < 10
