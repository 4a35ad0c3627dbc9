"""Stream a taxi CSV (plain or gzip) as COPY-ready byte chunks, without parsing rows in Python.

Kept free of pyarrow on purpose: the csv.gz load path must stay within ~64 MB of RSS.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

from taxi_ingest.errors import CorruptFileError

CHUNK = 1 << 20

# pandas writes nullable ints as floats ("1.0"), which Postgres rejects for integer columns. Dropping
# a ".0" that ends a field is value-preserving for numeric and timestamp fields too. Plain
# bytes.replace (~1.3 ms per MB) keeps up with COPY; a per-field regex cost more than the whole load,
# and even testing first whether a chunk needs it costs as much as just doing it.
_FLOAT_INT_ENDINGS = ((b".0,", b","), (b".0\n", b"\n"))


def open_binary(path: Path):
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_header(stream, path: Path) -> list[str]:
    """The first line, split as CSV; raises CorruptFileError for a file that cannot be a taxi CSV."""
    first = _guarded(stream.readline, path)
    if not first.strip():
        raise CorruptFileError(f"{Path(path).name}: the file is empty (no header line)")
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.lstrip().lower().startswith(("<!doctype", "<html")):
        raise CorruptFileError(f"{Path(path).name}: this is an HTML page, not a CSV file")
    return next(csv.reader(io.StringIO(text)))


def _guarded(read, path: Path, *args):
    """Call a read function, turning gzip/zlib failures into a plain-words CorruptFileError."""
    try:
        return read(*args)
    except EOFError as exc:
        raise CorruptFileError(f"{Path(path).name}: the gzip file is truncated ({exc})") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise CorruptFileError(f"{Path(path).name}: not a valid gzip file ({exc})") from None


def fix_chunk(piece: bytes) -> bytes:
    """Drop a '.0' ending a field; `piece` must hold whole lines."""
    for old, new in _FLOAT_INT_ENDINGS:
        piece = piece.replace(old, new)
    if b"\r" in piece:  # CRLF files (one-byte search: cheap)
        piece = piece.replace(b".0\r", b"\r")
    return piece


def _no_fix(piece: bytes) -> bytes:
    return piece


def iter_line_chunks(stream, path: Path, size: int = CHUNK, fix=fix_chunk) -> Iterator[bytes]:
    """Chunks of whole lines (each ends with a newline) from the rest of the stream, fixed up.

    Blank lines right after the header (some TLC files have one) are skipped: COPY rejects them.
    Blank lines further down are not looked for (never seen; COPY would fail on them, loudly).
    """
    tail = _skip_blank_lines(stream, path)
    while True:
        data = _guarded(stream.read, path, size)
        if not data:
            break
        buf = tail + data
        cut = buf.rfind(b"\n") + 1
        if cut == 0:  # a single line longer than the chunk: keep reading
            tail = buf
            continue
        tail = buf[cut:]
        yield fix(buf[:cut])
    if tail.strip():
        yield fix(tail + b"\n")


def _skip_blank_lines(stream, path: Path) -> bytes:
    """Consume blank lines at the stream's position; returns the first non-blank line (or b"")."""
    while True:
        line = _guarded(stream.readline, path)
        if line.strip() or not line:
            return line


def count_data_rows(path: Path) -> int:
    """Rows in a CSV file (header excluded), counted the way the COPY fast path sends them."""
    with open_binary(path) as stream:
        read_header(stream, path)
        return sum(chunk.count(b"\n") for chunk in iter_line_chunks(stream, path, fix=_no_fix))
