"""COPY one file into a Postgres table, streaming: the fast path for csv and csv.gz, Arrow for parquet.

Used by postgres.py inside its load transaction; the row count is checked against the rows read.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg2
from psycopg2 import sql

from taxi_ingest import csvstream
from taxi_ingest.errors import CorruptFileError, DataQualityError, SchemaError
from taxi_ingest.progress import Progress
from taxi_ingest.schemas import TableSchema
from taxi_ingest.sources import file_format

COPY_READ_SIZE = 1 << 20


class _ChunkReader:
    """File-like object for copy_expert over (CSV bytes, row count) pairs; counts rows, logs progress.

    An exception raised while reading is kept: psycopg2 replaces it with a generic COPY error.
    """

    def __init__(self, chunks: Iterable[tuple[bytes, int]], what: str):
        self.chunks = iter(chunks)
        self.rows = 0
        self.error: BaseException | None = None
        self.progress = Progress(what)

    def read(self, size: int = -1) -> bytes:  # size is a hint: whole chunks are fine for COPY
        try:
            chunk, rows = next(self.chunks, (b"", 0))
        except BaseException as exc:
            self.error = exc
            raise
        self.rows += rows
        self.progress.update(self.rows, len(chunk))
        return chunk


def _arrow_csv_chunks(path: Path, taxi: str) -> Iterator[tuple[bytes, int]]:
    """Parquet (or any edition) -> canonical batches -> CSV bytes that COPY parses."""
    import pyarrow.csv as pacsv  # lazily: ~60 MB of RSS the csv.gz path does without

    from taxi_ingest.normalize import iter_normalized_batches

    # Strings are always quoted, so "" stays an empty string and an unquoted empty field is NULL.
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in iter_normalized_batches(path, taxi):
        buf = io.BytesIO()
        pacsv.write_csv(batch, buf, options)
        yield buf.getvalue(), batch.num_rows


def _describe_pg_error(exc: psycopg2.Error) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip()
    return f"{message} ({diag.context.strip()})" if diag.context else message


def _open_source(path: Path, schema: TableSchema, taxi: str, stack: ExitStack):
    """(column names in COPY order, iterator of (CSV bytes, rows)) for any edition of a file."""
    if file_format(path.name) == "parquet":
        return schema.names, _arrow_csv_chunks(path, taxi)
    # Fast path: the file's own bytes go to COPY, with the header mapped to our column names.
    # Taxi CSVs have no quoted newlines, so a line is a row (if not, the row check below fails).
    stream = stack.enter_context(csvstream.open_binary(path))
    columns = schema.map_header(csvstream.read_header(stream, path))
    return columns, ((chunk, chunk.count(b"\n")) for chunk in csvstream.iter_line_chunks(stream, path))


def copy_file(cur, table: str, path: Path, schema: TableSchema, taxi: str) -> int:
    """COPY every row of `path` into `table`; returns rows copied, checked against rows read."""
    path = Path(path)
    with ExitStack() as stack:
        columns, chunks = _open_source(path, schema, taxi, stack)
        reader = _ChunkReader(chunks, f"load {path.name}")
        # (FREEZE was measured: no faster here, so plain COPY.)
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        try:
            cur.copy_expert(statement, reader, size=COPY_READ_SIZE)
        except psycopg2.Error as exc:
            if reader.error is not None:
                raise reader.error from None
            if isinstance(exc, psycopg2.DataError | psycopg2.errors.BadCopyFileFormat):
                problem = _describe_pg_error(exc)
                raise SchemaError(f"{path.name}: Postgres rejected a value: {problem}") from None
            raise
    reader.progress.done(reader.rows)
    if cur.rowcount != reader.rows:
        raise DataQualityError(f"{path.name}: read {reader.rows} rows but COPY stored {cur.rowcount}")
    if reader.rows == 0:
        raise CorruptFileError(f"{path.name}: the file has a header but no data rows")
    return reader.rows
