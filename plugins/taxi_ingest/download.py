"""Download one source file: streamed to a temp file, validated, then renamed into place."""

from __future__ import annotations

import errno
import gzip
import logging
import os
import re
import tempfile
import time
import zlib
from pathlib import Path

import requests
import urllib3

from taxi_ingest.errors import CorruptFileError, DiskFullError, DownloadError, NotFoundError, WrongMonthError
from taxi_ingest.progress import Progress
from taxi_ingest.sources import check_taxi, file_format, file_name, month_in_name, month_str, render_url

log = logging.getLogger("taxi_ingest")

# Where DAG downloads go unless $TAXI_DATA_DIR says otherwise: ./data on the host in the compose stack.
DEFAULT_DATA_DIR = "/opt/airflow/data"
CHUNK = 1 << 20
TIMEOUT = (15, 120)  # connect, between bytes
# Retrying is Airflow's job; this only rides out a short 5xx blip within one task try.
ATTEMPTS = 3
RETRY_PAUSE = 1.0

_FILENAME = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)', re.I)
_HTML_START = re.compile(rb"^\s*<(!doctype\s+html|html|head|body)", re.I)


def download(url: str, dest_dir: str | Path) -> Path:
    """Fetch `url` into `dest_dir` (file named as in the URL) unless a complete copy is already there."""
    dest_dir = Path(dest_dir)
    name = file_name(url)
    fmt = file_format(name)  # refuse unknown formats before any network traffic
    dest = dest_dir / name
    if dest.is_file() and dest.stat().st_size > 0:
        # Only validated files are ever renamed to this name, so it is complete.
        log.info("reusing %s (already downloaded)", dest)
        # its time of last use: the stack's data/ retention deletes files unused for N days
        os.utime(dest)
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _fetch(url, tmp)
        validate_file(tmp, fmt, name)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("downloaded %s (%.1f MB)", dest, dest.stat().st_size / 1e6)
    return dest


def download_month(taxi: str, month: str, url_template: str, data_dir: str | Path | None = None) -> Path:
    """The month's file of `taxi` (URL from `url_template`) into <data dir>/<taxi>/, reused if complete."""
    dest = Path(data_dir or os.environ.get("TAXI_DATA_DIR") or DEFAULT_DATA_DIR) / check_taxi(taxi)
    return download(render_url(url_template, taxi, month), dest)


def _fetch(url: str, tmp: Path) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _fetch_once(url, tmp)
            return
        except _Retryable as exc:
            if attempt == ATTEMPTS:
                raise DownloadError(f"{exc} (gave up after {ATTEMPTS} attempts)") from None
            log.warning("%s; retrying in %.0f s", exc, RETRY_PAUSE * attempt)
            time.sleep(RETRY_PAUSE * attempt)


class _Retryable(Exception):
    pass


def _fetch_once(url: str, tmp: Path) -> None:
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT) as resp:
            _check_response(url, resp)
            expected = resp.headers.get("Content-Length")
            written = _save(resp, tmp, file_name(url))
    except (requests.ConnectionError, requests.Timeout, urllib3.exceptions.HTTPError) as exc:
        # includes a body cut short before its Content-Length (urllib3 checks it)
        raise _Retryable(f"network error fetching {url}: {exc}") from None
    except requests.RequestException as exc:  # e.g. the connection closed mid-body
        raise DownloadError(f"download of {url} failed: {exc}") from None
    if expected is not None and written != int(expected):
        raise DownloadError(f"download of {url} truncated: got {written} of {expected} bytes")


def _check_response(url: str, resp: requests.Response) -> None:
    if resp.status_code == 404:
        raise NotFoundError(f"HTTP 404 Not Found: {url} (no file published for that month or taxi type?)")
    if resp.status_code >= 500:
        raise _Retryable(f"HTTP {resp.status_code} {resp.reason} from {url}")
    if resp.status_code >= 400:
        raise DownloadError(f"HTTP {resp.status_code} {resp.reason} for {url}")
    if "text/html" in resp.headers.get("Content-Type", ""):
        raise CorruptFileError(f"{url} answered with an HTML page, not a data file (error or login page?)")
    _check_same_month(url, resp)


def _check_same_month(url: str, resp: requests.Response) -> None:
    """A redirect or Content-Disposition naming another month means we would get the wrong data."""
    wanted = month_in_name(url)
    if wanted is None:
        return
    served = [resp.url]
    disposition = _FILENAME.search(resp.headers.get("Content-Disposition", ""))
    if disposition:
        served.append(disposition.group(1))
    for name in served:
        got = month_in_name(name)
        if got is not None and got != wanted:
            raise WrongMonthError(
                f"asked for {month_str(wanted)} at {url} "
                f"but the server sent {file_name(name)} ({month_str(got)})"
            )


def _save(resp: requests.Response, tmp: Path, label: str) -> int:
    """Write the body byte for byte (no transparent gunzip: a .csv.gz must stay gzip)."""
    written = 0
    progress = Progress(f"download {label}")
    try:
        with open(tmp, "wb") as out:
            for chunk in resp.raw.stream(CHUNK, decode_content=False):
                out.write(chunk)
                written += len(chunk)
                progress.update(written, len(chunk))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        size = resp.headers.get("Content-Length")
        of = f" of {int(size) / 1e6:.1f} MB" if size and size.isdigit() else ""
        raise DiskFullError(
            f"no space left on device in {tmp.parent} after writing {written / 1e6:.1f} MB{of} of {label}: "
            "free some space there (the partial file is removed; the data already loaded is untouched)"
        ) from None
    return written


def validate_file(path: Path, fmt: str, name: str | None = None) -> None:
    """Raise CorruptFileError unless `path` is a complete, non-empty file of format `fmt`."""
    name = name or Path(path).name
    size = Path(path).stat().st_size
    if size == 0:
        raise CorruptFileError(f"{name}: the file is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(512)
    if _HTML_START.match(head):
        raise CorruptFileError(f"{name}: got an HTML page instead of data")
    if fmt == "csv.gz":
        _validate_gzip(path, name, head)
    elif fmt == "parquet":
        _validate_parquet(path, name, head)


def _validate_gzip(path: Path, name: str, head: bytes) -> None:
    if not head.startswith(b"\x1f\x8b"):
        raise CorruptFileError(f"{name}: not a gzip file (does not start with the gzip signature)")
    try:  # reading to the end is the only way to find a truncated gzip; ~0.3 s per 20 MB
        with gzip.open(path, "rb") as f:
            first = f.readline()
            while f.read(CHUNK):
                pass
    except EOFError:
        raise CorruptFileError(f"{name}: the gzip file is truncated (incomplete download?)") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise CorruptFileError(f"{name}: the gzip data is corrupt ({exc})") from None
    if not first.strip():
        raise CorruptFileError(f"{name}: the gzip file holds no CSV header (empty data)")


def _validate_parquet(path: Path, name: str, head: bytes) -> None:
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        tail = f.read(4)
    if not head.startswith(b"PAR1") or tail != b"PAR1":
        raise CorruptFileError(f"{name}: not a complete parquet file (missing PAR1 marker; truncated?)")
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy and only needed here for parquet

    try:
        pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
    except Exception as exc:
        raise CorruptFileError(f"{name}: the parquet footer is unreadable ({exc})") from None
