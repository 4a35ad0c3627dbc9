"""Taxi types, months, source URLs and file formats."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from taxi_ingest.errors import BadInputError
from taxi_ingest.schemas import TRIP_SCHEMAS

TAXI_TYPES = tuple(TRIP_SCHEMAS)  # yellow, green, fhv

DEFAULT_URL_TEMPLATE = (
    "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/"
    "{taxi}/{taxi}_tripdata_{year}-{month}.csv.gz"
)
TLC_PARQUET_URL_TEMPLATE = "https://d37ci6vzurychx.cloudfront.net/trip-data/{taxi}_tripdata_{year}-{month}.parquet"
ZONES_URL = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/misc/taxi_zone_lookup.csv"

# Airflow retry settings of the download task, the same in every DAG: mirrors fail for a while
# (rate limits, minutes of 5xx, a month published late), so downloads retry often with a growing pause.
# The other tasks fail on their data or settings, which a retry rarely fixes: they keep the DAG's default.
DOWNLOAD_RETRIES = {
    "retries": 5,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(hours=1),
}

FORMATS = {".csv.gz": "csv.gz", ".csv": "csv", ".parquet": "parquet"}
_STEM_SUFFIXES = (*FORMATS, ".gz")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# e.g. yellow_tripdata_2021-01.csv.gz, fhv_tripdata_2019-12.parquet
_MONTH_IN_NAME = re.compile(r"tripdata_(\d{4})-(\d{2})")


def check_taxi(taxi: str) -> str:
    if taxi not in TAXI_TYPES:
        raise BadInputError(f"unknown taxi type {taxi!r}; expected one of {', '.join(TAXI_TYPES)}")
    return taxi


def parse_month(month: str | dt.date) -> dt.date:
    """'2021-01' -> date(2021, 1, 1); a clear error for anything else."""
    if isinstance(month, dt.date):
        return month.replace(day=1)
    match = _MONTH.match(str(month).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadInputError(f"month must look like YYYY-MM (e.g. 2021-01), got {month!r}")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def month_str(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def render_url(template: str, taxi: str, month: str | dt.date) -> str:
    """Fill {taxi}, {year} and {month} (zero-padded) into a URL template."""
    check_taxi(taxi)
    m = parse_month(month)
    try:
        return template.format(taxi=taxi, year=f"{m.year:04d}", month=f"{m.month:02d}")
    except (KeyError, IndexError, ValueError) as exc:
        raise BadInputError(
            f"bad URL template {template!r}: only {{taxi}}, {{year}} and {{month}} are allowed ({exc})"
        ) from None


def file_name(url_or_path: str) -> str:
    """Last path segment of a URL or path, query string ignored."""
    return PurePosixPath(urlsplit(str(url_or_path)).path).name


def file_format(url_or_path: str) -> str:
    """'csv.gz', 'csv' or 'parquet', from the name's suffix."""
    name = file_name(url_or_path).lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    raise BadInputError(
        f"cannot tell the file format of {name!r}: expected a name ending in .csv.gz, .csv or .parquet"
    )


def file_stem(url_or_path: str) -> str:
    """The name without its data suffix: ``green_tripdata_2021-01.csv.gz`` -> ``green_tripdata_2021-01``."""
    name = file_name(url_or_path)
    for suffix in _STEM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def month_in_name(url_or_path: str) -> dt.date | None:
    """The month a TLC-style file name claims to hold, or None if the name says nothing."""
    match = _MONTH_IN_NAME.search(file_name(url_or_path))
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def is_url(source: str) -> bool:
    return urlsplit(str(source)).scheme in ("http", "https")
