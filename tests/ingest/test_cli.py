"""`python -m taxi_ingest` as a user runs it: help, clear one-line errors, non-zero exits."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.taxidata import make_trips, write_csv

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None, timeout=120):
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "plugins"), **(env or {})}
    if "TAXI_DB_URL" not in (env or {}):
        full_env.pop("TAXI_DB_URL", None)
    return subprocess.run([sys.executable, "-m", "taxi_ingest", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if "error" in line.lower()]


@pytest.mark.parametrize("command", [[], ["download"], ["load"], ["check"], ["convert"], ["zones"]])
def test_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m taxi_ingest" in result.stdout
    if command in (["load"], ["check"], ["zones"]):
        assert "--db-url" in result.stdout and "TAXI_DB_URL" in result.stdout


def test_bad_month_is_one_clear_line(tmp_path):
    result = run_cli("download", "--taxi", "yellow", "--month", "2021-13", "--dest", str(tmp_path))
    assert result.returncode == 1
    expected = "taxi_ingest: error: month must look like YYYY-MM (e.g. 2021-01), got '2021-13'"
    assert result.stderr.strip() == expected


def test_unknown_taxi_type_is_a_usage_error():
    result = run_cli("load", "--taxi", "blue", "--month", "2021-01")
    assert result.returncode == 2
    assert "invalid choice: 'blue'" in result.stderr


def test_load_without_database_url():
    result = run_cli("load", "--taxi", "yellow", "--month", "2021-01", "--source", "x.csv.gz")
    assert result.returncode == 1
    assert "pass --db-url or set TAXI_DB_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_local_file():
    result = run_cli("load", "--taxi", "yellow", "--month", "2021-01", "--source", "/nope/y.csv.gz",
                     "--db-url", "postgresql://u:p@127.0.0.1:1/db")
    assert result.returncode == 1
    assert "no such file: /nope/y.csv.gz" in result.stderr


def test_unreachable_database_is_one_line(tmp_path):
    path = write_csv(make_trips("yellow", "2021-01", 10), tmp_path / "yellow_tripdata_2021-01.csv.gz")
    result = run_cli("load", "--taxi", "yellow", "--month", "2021-01", "--source", str(path),
                     env={"TAXI_DB_URL": "postgresql://u:p@127.0.0.1:1/db"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(_error_lines(result)) == 1 and "OperationalError" in result.stderr


def test_download_via_template_and_convert(http_server, tmp_path):
    write_csv(make_trips("green", "2020-02", 500), http_server.root / "green_tripdata_2020-02.csv.gz")
    template = http_server.url + "/{taxi}_tripdata_{year}-{month}.csv.gz"
    result = run_cli("download", "--taxi", "green", "--month", "2020-02", "--dest", str(tmp_path / "g"),
                     env={"TAXI_URL_TEMPLATE": template})
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == tmp_path / "g" / "green_tripdata_2020-02.csv.gz" and path.is_file()
    result = run_cli("convert", "--taxi", "green", str(path), str(tmp_path / "g.parquet"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "500"
    assert "taxi_ingest" in result.stderr and "500 rows" in result.stderr  # progress on the logger


def test_download_404_is_one_clear_line(http_server, tmp_path):
    result = run_cli("download", "--taxi", "fhv", "--month", "2031-01", "--dest", str(tmp_path),
                     "--url-template", http_server.url + "/{taxi}_tripdata_{year}-{month}.csv.gz")
    assert result.returncode == 1
    assert "taxi_ingest: error: HTTP 404 Not Found" in result.stderr
    assert "Traceback" not in result.stderr
