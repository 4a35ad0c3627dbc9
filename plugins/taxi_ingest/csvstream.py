"""Stream a taxi CSV (plain or gzip) as COPY-ready byte chunks, without parsing rows in Python.

Kept free of pyarrow on purpose: the csv.gz load path must stay within ~64 MB of RSS.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from taxi_ingest.errors import CorruptFileError

CHUNK = 1 << 20

# pandas writes nullable ints as floats ("1.0"), which Postgres rejects for integer columns. Dropping
# a ".0" that ends a field is value-preserving for numeric and timestamp fields too, and C-speed
# bytes.replace keeps up with COPY where a per-field regex costs ~5x the whole load.
_FLOAT_INT_ENDINGS = ((b".0,", b","), (b".0\n", b"\n"), (b".0\r", b"\r"))
_BLANK_LINES = re.compile(rb"^\r?\n", re.M)


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


def drop_blank_lines(piece: bytes) -> bytes:
    """COPY rejects empty lines (some TLC files have one after the header)."""
    if piece.startswith((b"\n", b"\r\n")) or b"\n\n" in piece or b"\n\r\n" in piece:
        piece = _BLANK_LINES.sub(b"", piece)
    return piece


def fix_chunk(piece: bytes) -> bytes:
    """Drop blank lines and a '.0' ending a field; `piece` must start at a line start."""
    piece = drop_blank_lines(piece)
    for old, new in _FLOAT_INT_ENDINGS:
        piece = piece.replace(old, new)
    return piece


def iter_line_chunks(stream, path: Path, size: int = CHUNK, fix=fix_chunk) -> Iterator[bytes]:
    """Chunks of whole lines (each ends with a newline) from the rest of the stream, fixed up."""
    tail = b""
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


def count_data_rows(path: Path) -> int:
    """Rows in a CSV file (header and blank lines excluded), read in bounded memory."""
    with open_binary(path) as stream:
        read_header(stream, path)
        chunks = iter_line_chunks(stream, path, fix=drop_blank_lines)
        return sum(chunk.count(b"\n") for chunk in chunks)
