"""Benchmark the GCS path of one taxi month: csv.gz -> normalized parquet -> GCS (chunked upload).

Runs offline: the source month is synthetic (yellow-taxi columns, January 2021's row count by
default) unless --source points at a real file, and GCS is a local gcp-storage-emulator (in memory)
reached through Airflow's GCSHook, exactly as the DAG does. Each phase runs in its own child process
so its peak RSS is its own.

    .venv/bin/python benchmarks/gcs_benchmark.py                 # 1,369,765 rows
    .venv/bin/python benchmarks/gcs_benchmark.py --rows 200000 --chunk-mib 1 --chunk-mib 8
    .venv/bin/python benchmarks/gcs_benchmark.py --source data/yellow/yellow_tripdata_2021-01.csv.gz

The upload numbers measure the client, the hook and the chunking over loopback into a Python
emulator: an upper bound on per-file overhead, not a measure of your network to Google.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "tests")]

JAN_2021_ROWS = 1_369_765


def make_source(path: Path, rows: int, seed: int = 2021) -> None:
    """A yellow-taxi csv.gz shaped like the 2021 files (no airport_fee yet), from the tests' generator."""
    from support.taxidata import make_trips, write_csv

    write_csv(make_trips("yellow", "2021-01", rows, seed=seed), path, drop=("airport_fee",), gzip_level=3)


def phase_convert(src: str, dst: str) -> dict:
    from taxi_ingest.normalize import convert_to_parquet

    started = time.perf_counter()
    rows = convert_to_parquet(Path(src), Path(dst), "yellow")
    return {"rows": rows, "seconds": time.perf_counter() - started, "parquet_bytes": Path(dst).stat().st_size}


def phase_upload(src: str, chunk_mib: int) -> dict:
    from support.gcp_fakes import GcsEmulator

    emulator = GcsEmulator().start()
    try:
        os.environ["STORAGE_EMULATOR_HOST"] = emulator.url
        os.environ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = (
            "google-cloud-platform://?is_anonymous=true&project=bench"
        )
        os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="gcs-bench-airflow-"))
        from airflow.providers.google.cloud.hooks.gcs import GCSHook
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        from taxi_ingest import gcp

        hook = GCSHook()  # as the DAG's upload task builds it
        client = storage.Client(project="bench", credentials=AnonymousCredentials())
        client.create_bucket("bench")
        name = gcp.object_name("yellow", "2021-01", Path(src).name)
        timings = []
        for _ in range(2):  # the second upload replaces the first (idempotent rerun)
            started = time.perf_counter()
            gcp.upload_to_gcs(hook, src, "bench", name, chunk_size=chunk_mib * 1024 * 1024)
            timings.append(time.perf_counter() - started)
        blobs = list(client.list_blobs("bench"))
        assert [b.name for b in blobs] == [name] and blobs[0].size == Path(src).stat().st_size
        size = Path(src).stat().st_size
        return {
            "chunk_mib": chunk_mib,
            "bytes": size,
            "seconds": min(timings),
            "mib_per_s": size / 2**20 / min(timings),
        }
    finally:
        emulator.stop()


def peak_rss_mib() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's peak over fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # not Linux: best effort


def _child(*args: str) -> dict:
    """Run one phase in a child process; return its JSON result (with the child's peak RSS)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=JAN_2021_ROWS, help="rows of the synthetic month")
    parser.add_argument("--source", help="use this csv.gz/csv/parquet yellow month instead")
    parser.add_argument(
        "--chunk-mib", type=int, action="append", help="upload chunk size(s), MiB (default 8)"
    )
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        kind, *rest = args.phase
        result = phase_convert(*rest) if kind == "convert" else phase_upload(rest[0], int(rest[1]))
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="gcs-bench-") as tmp:
        tmp = Path(tmp)
        if args.source:
            src = Path(args.source)
        else:
            src = tmp / "yellow_tripdata_2021-01.csv.gz"
            started = time.perf_counter()
            make_source(src, args.rows)
            print(f"synthetic source: {args.rows:,} rows, {src.stat().st_size / 2**20:.1f} MiB csv.gz "
                  f"({time.perf_counter() - started:.1f} s to make)")  # fmt: skip
        dst = tmp / "parquet" / "yellow_tripdata_2021-01.parquet"
        dst.parent.mkdir()
        conv = _child("convert", str(src), str(dst))
        print(
            f"convert_to_parquet: {conv['rows']:,} rows in {conv['seconds']:.2f} s "
            f"({conv['rows'] / conv['seconds']:,.0f} rows/s), "
            f"parquet {conv['parquet_bytes'] / 2**20:.1f} MiB, peak RSS {conv['peak_rss_mib']} MiB"
        )
        report = {"source": str(src), "source_bytes": src.stat().st_size, "convert": conv, "upload": []}
        for chunk in args.chunk_mib or [8]:
            up = _child("upload", str(dst), str(chunk))
            report["upload"].append(up)
            print(
                f"upload_to_gcs (GCSHook -> emulator), chunk {chunk} MiB: {up['bytes'] / 2**20:.1f} MiB "
                f"in {up['seconds']:.2f} s ({up['mib_per_s']:.0f} MiB/s), peak RSS {up['peak_rss_mib']} MiB"
            )
        print(json.dumps(report))


if __name__ == "__main__":
    main()
