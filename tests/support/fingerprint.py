"""Content fingerprints of a month: computed from the source file independently of taxi_ingest's
readers (csv module + Decimal, or pyarrow's plain reader), and from the rows stored in Postgres."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from decimal import Decimal
from pathlib import Path

import psycopg2
import pyarrow.parquet as pq
from psycopg2 import sql

from taxi_ingest.schemas import schema_for


def _from_text(kind: str, value: str):
    if value == "":
        return None
    if kind == "int":
        number = Decimal(value)
        assert number == number.to_integral_value(), value
        return int(number)
    if kind == "num":
        return Decimal(value)
    if kind == "ts":
        return dt.datetime.fromisoformat(value)
    return value


def _from_arrow(kind: str, value):
    if value is None:
        return None
    if kind == "int":
        assert value == int(value), value
        return int(value)
    if kind == "num":
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if kind == "ts":
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def _file_records(path: Path, taxi: str):
    """Yields dicts canonical name -> python value (only the columns the file has)."""
    schema = schema_for(taxi)
    canonical = {name.lower(): name for name in schema.names}
    if path.name.endswith(".parquet"):
        for record in pq.read_table(path).to_pylist():
            yield {canonical[k.lower()]: _from_arrow(schema.type_of(canonical[k.lower()]), v)
                   for k, v in record.items()}
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        header = [canonical[h.lower()] for h in next(reader)]
        for row in reader:
            if row:
                yield {name: _from_text(schema.type_of(name), v) for name, v in zip(header, row, strict=True)}


def file_fingerprint(path: Path, taxi: str) -> dict:
    schema = schema_for(taxi)
    stats = {name: {"nulls": 0, "sum": 0, "min": None, "max": None} for name in schema.names}
    rows = 0
    for record in _file_records(Path(path), taxi):
        rows += 1
        for name, kind in schema.columns:
            value = record.get(name)
            s = stats[name]
            if value is None:
                s["nulls"] += 1
                continue
            if kind in ("int", "num"):
                s["sum"] += value
            s["min"] = value if s["min"] is None else min(s["min"], value)
            s["max"] = value if s["max"] is None else max(s["max"], value)
    return {"rows": rows, **{name: _final(stats[name], schema.type_of(name)) for name in schema.names}}


def _final(s: dict, kind: str) -> dict:
    out = {"nulls": s["nulls"], "min": s["min"], "max": s["max"]}
    if kind in ("int", "num"):
        out["sum"] = s["sum"] if s["min"] is not None else None
    return out


def db_fingerprint(url: str, taxi: str, month: str) -> dict:
    schema = schema_for(taxi)
    parts = [sql.SQL("count(*)")]
    for name, kind in schema.columns:
        col = sql.Identifier(name)
        parts += [sql.SQL("count(*) - count({})").format(col), sql.SQL("min({})").format(col),
                  sql.SQL("max({})").format(col)]
        if kind in ("int", "num"):
            parts.append(sql.SQL("sum({})").format(col))
    query = sql.SQL("SELECT {} FROM {} WHERE month = %s").format(
        sql.SQL(", ").join(parts), sql.Identifier(schema.table))
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query, (month + "-01",))
        values = list(cur.fetchone())
    conn.close()
    result = {"rows": values.pop(0)}
    for name, kind in schema.columns:
        result[name] = {"nulls": values.pop(0), "min": values.pop(0), "max": values.pop(0)}
        if kind in ("int", "num"):
            result[name]["sum"] = values.pop(0)
    return result
