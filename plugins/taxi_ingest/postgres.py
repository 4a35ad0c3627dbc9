"""Load taxi months into Postgres with COPY: streaming, idempotent and atomic per month.

Each trip table is partitioned by LIST (month). A load builds the month's new partition as a
separate table in one transaction (COPY, row count and month checks), then swaps it in for the
old one and commits: readers see the old month or the new one, never a mix, and a crash or an
error anywhere rolls everything back. The COPY itself: pgcopy.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import TRANSACTION_STATUS_IDLE, parse_dsn

from taxi_ingest import csvstream
from taxi_ingest.errors import BadInputError, DataQualityError
from taxi_ingest.months import check_name_month, check_rows_in_month, next_month
from taxi_ingest.pgcopy import copy_file
from taxi_ingest.schemas import PG_TYPES, ZONES, TableSchema, schema_for
from taxi_ingest.sources import check_taxi, file_format, month_str, parse_month

log = logging.getLogger("taxi_ingest")

LOCK_NAMESPACE = "taxi_ingest"


# ---------------------------------------------------------------- connections and DDL


def libpq_url(url: str) -> str:
    """`url` as libpq takes it: SQLAlchemy-style URLs name a driver (postgresql+psycopg2://, and
    postgresql+psycopg:// from the Postgres provider 7 of Airflow 3's PostgresHook.get_uri())."""
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)


@contextmanager
def connection(db) -> Iterator[psycopg2.extensions.connection]:
    """A psycopg2 connection from a URL (closed afterwards) or an open connection (left open)."""
    owned = isinstance(db, str)
    conn = psycopg2.connect(libpq_url(db)) if owned else db
    if conn.info.transaction_status != TRANSACTION_STATUS_IDLE:
        raise BadInputError("the database connection is inside a transaction; commit or roll back first")
    autocommit = conn.autocommit
    conn.autocommit = False  # our `with conn:` blocks must be real transactions
    try:
        yield conn
    finally:
        if owned:
            conn.close()
        else:
            conn.autocommit = autocommit


def wait_for_server(url: str, timeout: float = 60.0, pause: float = 1.0) -> bool:
    """Until a new connection to `url` succeeds (True), or for at most `timeout` seconds (False)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(libpq_url(url), connect_timeout=max(1, int(pause * 5))).close()
            return True
        except psycopg2.OperationalError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)


@contextmanager
def lost_server_reported_when_back(url: str, timeout: float = 60.0) -> Iterator[None]:
    """Re-raise a lost connection (the server restarting) only once the server answers again.

    A task's failure is recorded in Airflow's metadata database, which in this stack is the same
    Postgres server: failing while it is still down leaves the task "running" until the scheduler
    gives up on its heartbeat (minutes), instead of a failed try that Airflow retries at once.
    """
    try:
        yield
    except (psycopg2.OperationalError, psycopg2.InterfaceError):  # lost mid-query, or on closing
        log.warning("lost the connection to the database server; waiting up to %.0f s for it to come "
                    "back before failing this try", timeout)
        wait_for_server(url, timeout)
        raise


def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist; True if this call created it.

    Safe when many loads start at once on a fresh server: creators take turns on an advisory lock,
    and any form of "already exists" (Postgres reports a concurrent CREATE DATABASE either as
    DuplicateDatabase or as a unique violation on pg_database) counts as success.
    Accepts SQLAlchemy-style URLs too (postgresql+psycopg2://...), as PostgresHook.get_uri() gives.
    """
    params = parse_dsn(libpq_url(url))
    name = params.get("dbname")
    if not name:
        raise BadInputError("no database name in the database URL")
    try:
        psycopg2.connect(**params).close()
        return False
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with admin.cursor() as cur:
            # session-level lock: released when the connection closes, whatever happens
            cur.execute("SELECT pg_advisory_lock(hashtext(%s), hashtext(%s))",
                        (LOCK_NAMESPACE, f"database:{name}"))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            try:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
                return False  # created at the same moment by a client that does not take the lock
            log.info("created database %s", name)
            return True
    finally:
        admin.close()


def _column_defs(schema: TableSchema) -> sql.Composed:
    column = sql.SQL("{} {}")
    defs = [column.format(sql.Identifier(name), sql.SQL(PG_TYPES[kind])) for name, kind in schema.columns]
    return sql.SQL(", ").join(defs)


def _lock(cur, *parts: str) -> None:
    """Transaction-scoped advisory lock: concurrent loads of the same thing take turns."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (LOCK_NAMESPACE, ":".join(parts)))


def ensure_trip_table(conn, schema: TableSchema) -> None:
    """Create `<taxi>_tripdata` partitioned by month, if missing (own short transaction)."""
    with conn, conn.cursor() as cur:
        _lock(cur, schema.table)
        ddl = sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, month date NOT NULL) PARTITION BY LIST (month)")
        cur.execute(ddl.format(sql.Identifier(schema.table), _column_defs(schema)))
        cur.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", (schema.table,))
        if cur.fetchone()[0] != "p":
            raise BadInputError(
                f"table {schema.table} exists but is not partitioned by month (made by another tool?); "
                "rename or drop it first"
            )


# ---------------------------------------------------------------- months


def _check_rows_are_month(cur, table: str, schema: TableSchema, month: dt.date, path: Path) -> None:
    """The month rule of months.py, with the pickups counted over the staged rows."""
    pickup = sql.Identifier(schema.pickup)
    cur.execute(
        sql.SQL("SELECT count(*) FILTER (WHERE {p} >= %s AND {p} < %s), count({p}) FROM {t}").format(
            p=pickup, t=sql.Identifier(table)
        ),
        (month, next_month(month)),
    )
    in_month, with_pickup = cur.fetchone()

    def mostly() -> str:
        cur.execute(
            sql.SQL("SELECT to_char({p}, 'YYYY-MM') FROM {t} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
            .format(p=pickup, t=sql.Identifier(table))
        )
        return cur.fetchone()[0]

    check_rows_in_month(path.name, month, in_month, with_pickup, mostly)


def _partition_name(schema: TableSchema, month: dt.date) -> str:
    return f"{schema.table}_{month:%Y_%m}"


def load_month(db, path: str | Path, taxi: str, month: str | dt.date) -> int:
    """Replace month `month` of `taxi` with every row of `path`, atomically. Returns the row count.

    Every row of the file counts as that month's, whatever its timestamps say (column `month`).
    """
    schema = schema_for(check_taxi(taxi))
    month = parse_month(month)
    path = Path(path)
    check_name_month(path, month)
    partition = _partition_name(schema, month)
    staging = f"{partition}_loading"
    with connection(db) as conn:
        ensure_trip_table(conn, schema)
        with conn, conn.cursor() as cur:
            _lock(cur, schema.table, month_str(month))
            # The CHECK matches the partition bound, so ATTACH below skips its validation scan.
            cur.execute(
                sql.SQL(
                    "CREATE TABLE {s} (LIKE {parent} INCLUDING DEFAULTS, CHECK (month = {m}));"
                    "ALTER TABLE {s} ALTER COLUMN month SET DEFAULT {m}"
                ).format(s=sql.Identifier(staging), parent=sql.Identifier(schema.table), m=sql.Literal(month))
            )
            rows = copy_file(cur, staging, path, schema, taxi)
            _check_rows_are_month(cur, staging, schema, month, path)
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition)))
            swap = sql.SQL(
                "ALTER TABLE {s} RENAME TO {p}; ALTER TABLE {parent} ATTACH PARTITION {p} FOR VALUES IN ({m})"
            )
            cur.execute(swap.format(s=sql.Identifier(staging), p=sql.Identifier(partition),
                                    parent=sql.Identifier(schema.table), m=sql.Literal(month)))
    log.info("loaded %s rows of %s %s into %s", f"{rows:,}", taxi, month_str(month), partition)
    return rows


def stored_rows(db, taxi: str, month: str | dt.date) -> int:
    """Rows stored for one month (0 if the table does not exist yet)."""
    schema = schema_for(check_taxi(taxi))
    with connection(db) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (schema.table,))
        if cur.fetchone()[0] is None:
            return 0
        cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE month = %s").format(sql.Identifier(schema.table)),
            (parse_month(month),),
        )
        return cur.fetchone()[0]


def count_file_rows(path: str | Path) -> int:
    path = Path(path)
    if file_format(path.name) == "parquet":
        from taxi_ingest.normalize import count_rows

        return count_rows(path)
    return csvstream.count_data_rows(path)


def check_month(db, path: str | Path, taxi: str, month: str | dt.date) -> int:
    """Data-quality check after a load: rows stored for the month == rows in the file, else raise."""
    label = f"{taxi} {month_str(parse_month(month))}"
    expected = count_file_rows(path)
    stored = stored_rows(db, taxi, month)
    if stored != expected:
        raise DataQualityError(f"{label}: {stored} rows stored but {Path(path).name} has {expected}")
    log.info("check ok: %s has %s rows, as in %s", label, f"{stored:,}", Path(path).name)
    return stored


def load_zones(db, path: str | Path) -> int:
    """Replace taxi_zone_lookup with the rows of `path` in one transaction."""
    path = Path(path)
    with connection(db) as conn, conn, conn.cursor() as cur:
        _lock(cur, ZONES.table)
        table = sql.Identifier(ZONES.table)
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(table, _column_defs(ZONES)))
        cur.execute(sql.SQL("TRUNCATE {}").format(table))  # transactional: readers see old or new
        rows = copy_file(cur, ZONES.table, path, ZONES, "zones")
    log.info("loaded %s zones into %s", rows, ZONES.table)
    return rows
