"""Command line: python -m taxi_ingest download|load|check|convert|zones ... (see --help)."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from pathlib import Path

from taxi_ingest.errors import BadInputError, IngestError
from taxi_ingest.sources import DEFAULT_URL_TEMPLATE, TAXI_TYPES, ZONES_URL, is_url, parse_month, render_url

log = logging.getLogger("taxi_ingest")


def _add_month_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--taxi", required=True, choices=TAXI_TYPES, help="taxi type")
    p.add_argument("--month", required=True, help="month to process, YYYY-MM")
    p.add_argument("--source", help="URL or local path of the file (default: rendered from --url-template)")
    p.add_argument(
        "--url-template", default=os.environ.get("TAXI_URL_TEMPLATE", DEFAULT_URL_TEMPLATE),
        help="URL with {taxi}, {year}, {month} placeholders (env TAXI_URL_TEMPLATE; default: course mirror)",
    )
    p.add_argument("--dest", help="download folder (default: data/<taxi>)")


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db-url", default=os.environ.get("TAXI_DB_URL"),
                   help="target database URL, e.g. postgresql://user:pw@host:5432/ny_taxi (env TAXI_DB_URL)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m taxi_ingest",
        description="Download NYC taxi months and load them into Postgres (idempotent, atomic per month).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])

    p = sub.add_parser("download", help="download one month's file (reuses a complete earlier download)")
    _add_month_source(p)
    p = sub.add_parser("load", help="download if needed, then replace the month's rows in Postgres")
    _add_month_source(p)
    _add_db(p)
    p = sub.add_parser("check", help="fail unless the rows stored for the month equal the rows in the file")
    _add_month_source(p)
    _add_db(p)
    p = sub.add_parser("convert", help="write a month file (csv, csv.gz or parquet) as canonical parquet")
    p.add_argument("--taxi", required=True, choices=TAXI_TYPES, help="taxi type")
    p.add_argument("src", help="input file")
    p.add_argument("dst", help="output .parquet file (written atomically)")
    p = sub.add_parser("zones", help="replace taxi_zone_lookup with the zones CSV")
    p.add_argument("--source", default=ZONES_URL, help="URL or local path of taxi_zone_lookup.csv")
    p.add_argument("--dest", default="data/zones", help="download folder (default: data/zones)")
    _add_db(p)
    return parser


def _local_file(source: str, dest: str) -> Path:
    from taxi_ingest.download import download

    if is_url(source):
        return download(source, dest)
    path = Path(source)
    if not path.is_file():
        raise BadInputError(f"no such file: {source}")
    return path


def _month_file(args) -> Path:
    source = args.source or render_url(args.url_template, args.taxi, args.month)
    return _local_file(source, args.dest or f"data/{args.taxi}")


def _require_db_url(args) -> str:
    if not args.db_url:
        raise BadInputError("no target database: pass --db-url or set TAXI_DB_URL")
    return args.db_url


def run(args) -> object:
    """Do the command; returns what to print on stdout (a path or a row count)."""
    if args.command == "download":
        return _month_file(args)
    if args.command == "convert":
        from taxi_ingest.normalize import convert_to_parquet

        return convert_to_parquet(_local_file(args.src, "."), Path(args.dst), args.taxi)

    from taxi_ingest import postgres  # psycopg2 only for the database commands

    db_url = _require_db_url(args)  # bad arguments fail before any download
    if args.command == "zones":
        path = _local_file(args.source, args.dest)
        postgres.ensure_database(db_url)
        return postgres.load_zones(db_url, path)
    parse_month(args.month)
    path = _month_file(args)
    if args.command == "check":
        return postgres.check_month(db_url, path, args.taxi, args.month)
    postgres.ensure_database(db_url)
    return postgres.load_month(db_url, path, args.taxi, args.month)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        print(run(args))
    except IngestError as exc:
        print(f"taxi_ingest: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # database unreachable, disk full...: one line, not a traceback
        import psycopg2

        if not isinstance(exc, psycopg2.Error | OSError):
            raise
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"taxi_ingest: error: {type(exc).__name__}: {first_line}", file=sys.stderr)
        return 1
    return 0
