"""Benchmark: loading one NYC yellow taxi month into Postgres, taxi_ingest vs the course vs psql.

Generates a 1,369,765-row yellow month (the size of January 2021) as csv.gz and parquet, then loads it
with taxi_ingest (from each edition), with the course's pandas `to_sql` in 100k-row chunks, and with
`zcat file.csv.gz | psql -c '\\copy ...'`. Every method runs in its own child process; wall time is the
best of --repeat runs, peak RSS is that child's own maximum (os.wait4). Also times convert_to_parquet.
Prints a table; asserts nothing.

    .venv/bin/python benchmarks/ingest_benchmark.py [--db-url URL] [--skip-pandas] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "tests")]

from support.postgres import start_postgres_container, stop_postgres_container  # noqa: E402
from support.taxidata import make_trips, write_csv, write_parquet  # noqa: E402

from taxi_ingest.schemas import PG_TYPES, YELLOW  # noqa: E402

MONTH = "2021-01"
ROWS = 1_369_765
PSQL = "/usr/bin/psql"
BASELINE_TABLE = "yellow_copy_baseline"
PANDAS_TABLE = "yellow_taxi_data"

# The course's notebook/script, verbatim in spirit: chunks of 100k rows, parse dates, to_sql append.
PANDAS_SCRIPT = """
import sys
import pandas as pd
from sqlalchemy import create_engine
path, url, table = sys.argv[1:4]
engine = create_engine(url)
first = True
for df in pd.read_csv(path, iterator=True, chunksize=100000):
    df.tpep_pickup_datetime = pd.to_datetime(df.tpep_pickup_datetime)
    df.tpep_dropoff_datetime = pd.to_datetime(df.tpep_dropoff_datetime)
    if first:
        df.head(n=0).to_sql(name=table, con=engine, if_exists="replace")
        first = False
    df.to_sql(name=table, con=engine, if_exists="append")
"""


# A lean middle process runs each method and reports RUSAGE_CHILDREN: a child forked straight from this
# (big) benchmark process would report our own RSS as its peak (Linux keeps maxrss across fork+exec).
LAUNCHER = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(code, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def run_child(argv: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process (the largest of it and what it waited for)."""
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *argv], env={**os.environ, **(env or {})},
                          capture_output=True, text=True)
    try:
        code, wall, rss = proc.stdout.split()
    except ValueError:
        code, wall, rss = "launcher failed", 0, 0
    if code != "0":
        raise SystemExit(f"{' '.join(argv[:4])}... failed ({code}):\n{proc.stderr[-3000:]}")
    return float(wall), float(rss)


def best_of(methods: dict[str, tuple[list[str], dict]], repeat: int) -> dict[str, tuple[float, float]]:
    """Round-robin `repeat` times, so load from other processes hits every method alike.

    Returns the best wall time and the largest peak RSS per method."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, (argv, env) in methods.items():
            runs[name].append(run_child(argv, env))
    return {name: (min(w for w, _ in r), max(m for _, m in r)) for name, r in runs.items()}


def psql(url: str, *commands: str) -> list[str]:
    argv = [PSQL, url, "-v", "ON_ERROR_STOP=1", "-q"]
    for command in commands:
        argv += ["-c", command]
    return argv


def prepare_baseline_table(url: str) -> None:
    kept = [(name, kind) for name, kind in YELLOW.columns if name != "airport_fee"]
    columns = ", ".join(f'"{name}" {PG_TYPES[kind]}' for name, kind in kept)
    subprocess.run(psql(url, f"DROP TABLE IF EXISTS {BASELINE_TABLE}",
                        f"CREATE TABLE {BASELINE_TABLE} ({columns})"), check=True)


def generate(workdir: Path, rows: int) -> tuple[Path, Path]:
    csv_gz = workdir / f"yellow_tripdata_{MONTH}.csv.gz"
    parquet = workdir / f"yellow_tripdata_{MONTH}.parquet"
    if not (csv_gz.exists() and parquet.exists()):
        print(f"generating {rows:,} rows in {workdir} ...", flush=True)
        table = make_trips("yellow", MONTH, rows, seed=2021)
        # Like the course mirror: 2021 CSVs have no airport_fee; TLC parquet stores some ints as doubles.
        write_csv(table, csv_gz, drop=("airport_fee",))
        import pyarrow as pa

        write_parquet(table, parquet, types={"passenger_count": pa.float64(), "RatecodeID": pa.float64(),
                                             "VendorID": pa.int64(), "payment_type": pa.int64()})
    return csv_gz, parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-url", help="database URL (default: a throwaway postgres:16 container)")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per fast method; the best is shown")
    parser.add_argument("--skip-pandas", action="store_true", help="skip the ~2 minute pandas to_sql run")
    parser.add_argument("--workdir", help="where to keep the generated files (default: a temp dir)")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ingest-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_gz, parquet = generate(workdir, args.rows)
    container = None
    url = args.db_url
    if not url:
        container, admin = start_postgres_container()
        url = admin.rsplit("/", 1)[0] + "/ny_taxi"
    env = {"PYTHONPATH": str(ROOT / "plugins")}
    cli = [sys.executable, "-m", "taxi_ingest"]
    load = [*cli, "load", "-q", "--taxi", "yellow", "--month", MONTH, "--db-url", url, "--source"]
    try:
        run_child([*load, str(csv_gz)], env)  # creates the database and table; warms caches
        prepare_baseline_table(url)
        columns = ",".join(f'"{n}"' for n in YELLOW.names if n != "airport_fee")
        copy_sql = f"\\copy {BASELINE_TABLE} ({columns}) FROM STDIN (FORMAT csv, HEADER)"
        pipeline = f'zcat "$1" | {PSQL} "$2" -v ON_ERROR_STOP=1 -q -c "TRUNCATE {BASELINE_TABLE}" -c "$3"'
        zcat_psql = ["sh", "-c", pipeline, "sh", str(csv_gz), url, copy_sql]
        convert = [*cli, "convert", "-q", "--taxi", "yellow", str(csv_gz), str(workdir / "out.parquet")]
        results = best_of({
            "zcat | psql \\copy (csv.gz)": (zcat_psql, {}),
            "taxi_ingest load (csv.gz)": ([*load, str(csv_gz)], env),
            "taxi_ingest load (parquet)": ([*load, str(parquet)], env),
            "taxi_ingest convert csv.gz -> parquet": (convert, env),
        }, args.repeat)
        if not args.skip_pandas:
            sa_url = url.replace("postgresql://", "postgresql+psycopg2://")
            results["course: pandas to_sql, 100k chunks"] = run_child(
                [sys.executable, "-c", PANDAS_SCRIPT, str(csv_gz), sa_url, PANDAS_TABLE])
    finally:
        if container:
            stop_postgres_container(container)

    baseline = results["zcat | psql \\copy (csv.gz)"][0]
    print(f"\n{args.rows:,} yellow rows ({MONTH}); csv.gz {csv_gz.stat().st_size / 1e6:.0f} MB, "
          f"parquet {parquet.stat().st_size / 1e6:.0f} MB; best of {args.repeat} (pandas: 1 run)\n")
    print(f"{'method':40} {'wall s':>8} {'rows/s':>11} {'peak RSS MB':>12} {'vs copy':>9}")
    for name, (wall, rss) in results.items():
        print(f"{name:40} {wall:8.2f} {args.rows / wall:11,.0f} {rss:12.0f} {wall / baseline:8.2f}x")


if __name__ == "__main__":
    main()
