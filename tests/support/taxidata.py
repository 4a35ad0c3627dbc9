"""Generate realistic NYC taxi month files (csv.gz and parquet) with the quirks of the real ones.

The one generator of the tests and benchmarks (the GCS and ingest benchmarks too). Never downloads anything.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from taxi_ingest.schemas import arrow_schema, schema_for

# Columns that real files leave empty on a few percent of rows (yellow 2021: "unknown vendor" rows).
SPARSE = {"VendorID", "passenger_count", "RatecodeID", "store_and_fwd_flag", "payment_type",
          "congestion_surcharge", "airport_fee", "trip_type", "SR_Flag", "Affiliated_base_number",
          "PUlocationID", "DOlocationID"}
ALWAYS_NULL = {"ehail_fee"}


def _money(rng, n, scale, step=0.01):
    return np.round(rng.exponential(scale, n) / step) * step


def make_trips(taxi: str, month: str, n: int, seed: int = 0, null_share: float = 0.05,
               outside_share: float = 0.001) -> pa.Table:
    """n trips of `month`, canonical schema; a few pickups fall outside the month, as in real files."""
    rng = np.random.default_rng(seed)
    schema = schema_for(taxi)
    start = np.datetime64(dt.date.fromisoformat(month + "-01"), "s")
    seconds = rng.integers(0, 28 * 86400, n)
    outside = rng.random(n) < outside_share
    seconds[outside] -= rng.integers(86400, 400 * 86400, outside.sum())  # e.g. 2008/2009 dates
    pickup = start + seconds.astype("timedelta64[s]")
    dropoff = pickup + rng.integers(60, 3600, n).astype("timedelta64[s]")
    sparse_rows = rng.random(n) < null_share
    cols = {}
    for name, kind in schema.columns:
        if kind == "ts":
            values = pickup if "pickup" in name.lower() else dropoff
            arr = pa.array(values.astype("datetime64[us]"))
        elif kind == "int":
            top = {"VendorID": 2, "passenger_count": 6, "RatecodeID": 6, "payment_type": 4,
                   "trip_type": 2}.get(name, 265)
            arr = pa.array(rng.integers(1, top + 1, n).astype("int32"))
        elif kind == "num":
            scale = {"mta_tax": 0.5, "improvement_surcharge": 0.3, "congestion_surcharge": 2.5,
                     "airport_fee": 1.25, "extra": 1.0}.get(name)
            values = (rng.integers(0, 2, n) * scale) if scale else _money(rng, n, 12.0)
            arr = pa.array(np.round(values, 2))
        else:
            choices = {"store_and_fwd_flag": ["N", "N", "N", "Y"], "SR_Flag": ["1"]}.get(
                name, [f"B{i:05d}" for i in range(1, 40)])
            arr = pa.array(np.array(choices, dtype=object)[rng.integers(0, len(choices), n)])
        if name in ALWAYS_NULL:
            arr = pa.nulls(n, arr.type)
        elif name in SPARSE:
            arr = pc.if_else(pa.array(sparse_rows), pa.scalar(None, arr.type), arr)
        cols[name] = arr
    return pa.table(cols, schema=arrow_schema(taxi))


def _rename(table: pa.Table, rename: dict[str, str] | None) -> pa.Table:
    if not rename:
        return table
    return table.rename_columns([rename.get(c, c) for c in table.column_names])


def write_csv(table: pa.Table, path: Path, *, float_ints: bool = False, rename: dict | None = None,
              drop: tuple[str, ...] = (), gzip_level: int = 6, blank_after_header: bool = False) -> Path:
    """Write like the course mirror: plain timestamps, empty fields for nulls, gzip if path ends in .gz.

    float_ints writes integer columns as "1.0" (what pandas does to nullable ints);
    blank_after_header adds the empty line some TLC files have after their header.
    """
    table = table.drop_columns(list(drop))
    cols = []
    for field in table.schema:
        col = table[field.name]
        if pa.types.is_timestamp(field.type):
            col = pc.strftime(pc.cast(col, pa.timestamp("s")), "%Y-%m-%d %H:%M:%S")
        elif pa.types.is_integer(field.type) and float_ints:
            col = pc.binary_join_element_wise(pc.cast(col, pa.string()), ".0", "")
        cols.append(col)
    table = _rename(pa.table(cols, names=table.column_names), rename)
    # Real files quote nothing; header names are written by hand for the same reason.
    opts = pacsv.WriteOptions(quoting_style="none", include_header=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = (lambda: gzip.open(path, "wb", compresslevel=gzip_level)) if path.name.endswith(".gz") \
        else (lambda: open(path, "wb"))
    with opener() as out:
        out.write((",".join(table.column_names) + "\n" + ("\n" if blank_after_header else "")).encode())
        pacsv.write_csv(table, out, opts)
    return path


def write_parquet(table: pa.Table, path: Path, *, rename: dict | None = None, drop: tuple[str, ...] = (),
                  types: dict[str, pa.DataType] | None = None, row_group_size: int | None = None) -> Path:
    """Write a TLC-style parquet file; `types` changes column types (drift between months)."""
    table = table.drop_columns(list(drop))
    for name, typ in (types or {}).items():
        idx = table.column_names.index(name)
        column = pa.nulls(table.num_rows) if typ == pa.null() else pc.cast(table[name], typ)
        table = table.set_column(idx, name, column)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_rename(table, rename), str(path), row_group_size=row_group_size)
    return Path(path)
