"""The normalizer: any edition of a taxi month (csv, csv.gz, parquet) as batches of the canonical schema.

Both pipelines read through it: the Postgres load for parquet sources (postgres.py), the GCS pipeline
to write each month as canonical parquet (`convert_to_parquet`), so every month of a taxi type has
exactly one schema. Memory stays bounded: the CSV is read block by block, the parquet file batch by batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from taxi_ingest.csvstream import open_binary, read_header
from taxi_ingest.errors import CorruptFileError, SchemaError
from taxi_ingest.months import check_name_month, check_rows_in_month
from taxi_ingest.progress import Progress
from taxi_ingest.schemas import arrow_schema, schema_for
from taxi_ingest.sources import file_format, file_stem, parse_month

log = logging.getLogger("taxi_ingest")

BATCH_ROWS = 64 * 1024
ROW_GROUP_ROWS = 128 * 1024  # ~20 MB of trips held before a row group is written (RSS budget 256 MB)
CSV_BLOCK_BYTES = 512 << 10  # with 128k-row groups: convert peaks ~200 MB (budget 256)

# How the CSV reader should parse each logical type: ints as float64 first, so "1.0" parses and a
# real fraction is caught by the safe cast afterwards.
_CSV_READ_TYPES = {"int": pa.float64(), "num": pa.float64(), "ts": pa.timestamp("us"), "text": pa.string()}


def iter_normalized_batches(path: Path, taxi: str) -> Iterator[pa.RecordBatch]:
    """Batches with exactly the canonical schema of `taxi`, whatever edition and month the file is."""
    path = Path(path)
    target = arrow_schema(taxi)
    fmt = file_format(path.name)
    raw_batches = _iter_parquet(path) if fmt == "parquet" else _iter_csv(path, taxi)
    mapping = None
    for batch in raw_batches:
        if mapping is None:
            mapping = dict(zip(schema_for(taxi).map_header(batch.schema.names), batch.schema.names,
                               strict=True))
        yield normalize_batch(batch, mapping, target)


def normalize_batch(batch: pa.RecordBatch, mapping: dict[str, str], target: pa.Schema) -> pa.RecordBatch:
    """Reorder, cast and null-fill `batch` into `target`; mapping is canonical name -> batch column."""
    arrays = []
    for field in target:
        if field.name in mapping:
            arrays.append(cast_column(batch.column(mapping[field.name]), field))
        else:
            arrays.append(pa.nulls(batch.num_rows, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def cast_column(arr: pa.Array, field: pa.Field) -> pa.Array:
    """Cast one column to its canonical type; a lossy cast (1.5 into an int) is an error."""
    try:
        if arr.type == field.type:
            return arr
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        is_text = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        if pa.types.is_integer(field.type) and is_text:
            arr = pc.cast(arr, pa.float64())  # "1.0" -> 1.0, then the safe int cast below
        if pa.types.is_decimal(arr.type):
            # Arrow's decimal->double is not correctly rounded (21.83 -> 21.830000000000002); parsing is.
            arr = pc.cast(arr, pa.string())
        if pa.types.is_floating(field.type):
            return pc.cast(arr, field.type, safe=False)  # ints into float64: exact for any real amount
        return pc.cast(arr, field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(
            f"column {field.name}: cannot convert {arr.type} values to {field.type} "
            f"without losing data ({exc})"
        ) from None


def _iter_parquet(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptFileError(f"{path.name}: not a readable parquet file ({exc})") from None
    try:
        yield from pf.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptFileError(f"{path.name}: the parquet file is corrupt ({exc})") from None


def _iter_csv(path: Path, taxi: str) -> Iterator[pa.RecordBatch]:
    schema = schema_for(taxi)
    with open_binary(path) as stream:
        header = read_header(stream, path)
    canonical = schema.map_header(header)  # fails early, with the column's name, on a wrong header
    types = {raw: _CSV_READ_TYPES[schema.type_of(name)] for raw, name in zip(header, canonical, strict=True)}
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"{path.name}: cannot parse the CSV ({exc})") from None
    except (OSError, EOFError) as exc:
        raise CorruptFileError(f"{path.name}: the file is truncated or corrupt ({exc})") from None


class PickupMonths:
    """Counts the pickups of each month (YYYYMM) over the batches it is shown."""

    def __init__(self, column: str):
        self.column = column
        self.counts: Counter[int] = Counter()

    def add(self, batch: pa.RecordBatch) -> None:
        pickup = batch.column(self.column)
        keys = pc.add(pc.multiply(pc.year(pickup), 100), pc.month(pickup))
        for item in pc.value_counts(keys.drop_null()).to_pylist():
            self.counts[item["values"]] += item["counts"]

    def check(self, name: str, month: dt.date) -> None:
        """The rule of months.py over the counted pickups."""
        top = self.counts.most_common(1)
        check_rows_in_month(
            name, month, self.counts[month.year * 100 + month.month], self.counts.total(),
            lambda: f"{top[0][0] // 100:04d}-{top[0][0] % 100:02d}",
        )


def convert_to_parquet(src: Path, dst: Path, taxi: str, month: str | dt.date | None = None) -> int:
    """Write `src` (any edition) as canonical parquet at `dst`, atomically; returns the row count.

    With `month`, a file of another month (by its name or its pickups, see months.py) is refused and
    `dst` is left as it was.
    """
    src, dst = Path(src), Path(dst)
    if month is not None:
        month = parse_month(month)
        check_name_month(src, month)
    pickups = PickupMonths(schema_for(taxi).pickup) if month is not None else None
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    rows = 0
    progress = Progress(f"convert {src.name}")
    try:
        with pq.ParquetWriter(tmp, arrow_schema(taxi), compression="snappy") as writer:
            pending: list[pa.RecordBatch] = []
            for batch in iter_normalized_batches(src, taxi):
                pending.append(batch)
                rows += batch.num_rows
                if pickups is not None:
                    pickups.add(batch)
                progress.update(rows, batch.nbytes)
                if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_batches(pending))
                    pending = []
            if pending:
                writer.write_table(pa.Table.from_batches(pending))
        if rows == 0:
            raise CorruptFileError(f"{src.name}: no data rows")
        if pickups is not None:
            pickups.check(src.name, month)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    progress.done(rows)
    return rows


def normalized_path(src: str | os.PathLike) -> Path:
    """Where the canonical parquet of a downloaded file goes: next to it, in ``parquet/``."""
    src = Path(src)
    return src.parent / "parquet" / f"{file_stem(src.name)}.parquet"


def convert_month(src: str | os.PathLike, taxi: str, month: str | dt.date) -> Path:
    """`src`, a file of `month`, as canonical parquet at `normalized_path(src)`; returns that path."""
    dst = normalized_path(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    rows = convert_to_parquet(Path(src), dst, taxi, month)
    log.info("converted %s to %s (%d rows)", src, dst, rows)
    return dst


def count_rows(path: Path) -> int:
    """Rows in a parquet file, from its footer."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptFileError(f"{Path(path).name}: not a readable parquet file ({exc})") from None
