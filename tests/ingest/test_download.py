"""download() against a local HTTP server serving generated files and scripted failures."""

import gzip
import os
import time

import pytest
from support.taxidata import make_trips, write_csv, write_parquet

from taxi_ingest import download as download_module
from taxi_ingest.download import download
from taxi_ingest.errors import CorruptFileError, DiskFullError, DownloadError, NotFoundError, WrongMonthError

NAME = "yellow_tripdata_2021-01.csv.gz"


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch):
    monkeypatch.setattr(download_module, "RETRY_PAUSE", 0.01)


@pytest.fixture
def month_file(http_server):
    return write_csv(make_trips("yellow", "2021-01", 5000), http_server.root / NAME)


def _leftovers(dest):
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_download_and_reuse(http_server, month_file, tmp_path):
    dest = tmp_path / "data"
    path = download(f"{http_server.url}/{NAME}", dest)
    assert path == dest / NAME
    assert path.read_bytes() == month_file.read_bytes()
    week_ago = time.time() - 7 * 86400
    os.utime(path, (week_ago, week_ago))
    assert download(f"{http_server.url}/{NAME}", dest) == path
    assert http_server.hits[f"/{NAME}"] == 1  # the complete file was reused
    assert _leftovers(dest) == [NAME]
    # ... and marked as used now: data/ retention counts from the last use, not the download
    assert path.stat().st_mtime > week_ago + 86400


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_disk_is_named_and_the_partial_file_removed(http_server, month_file, tmp_path, monkeypatch):
    """The part file is opened on /dev/full, which fails every write with ENOSPC like a full disk
    (the stack's fault test fills a real tmpfs)."""
    real_save = download_module._save
    monkeypatch.setattr(download_module, "_save",
                        lambda resp, tmp, label: real_save(resp, download_module.Path("/dev/full"), label))
    dest = tmp_path / "data"
    with pytest.raises(DiskFullError, match=f"no space left on device in /dev after writing .* of {NAME}"):
        download(f"{http_server.url}/{NAME}", dest)
    assert _leftovers(dest) == []


def test_404_is_not_found(http_server, tmp_path):
    with pytest.raises(NotFoundError, match="404"):
        download(f"{http_server.url}/yellow_tripdata_2031-01.csv.gz", tmp_path / "d")
    assert _leftovers(tmp_path / "d") == []


def test_500_then_success(http_server, month_file, tmp_path):
    http_server.script(f"/{NAME}", (500, {}, b"oops"), (503, {}, b"busy"))
    path = download(f"{http_server.url}/{NAME}", tmp_path)
    assert path.read_bytes() == month_file.read_bytes()
    assert http_server.hits[f"/{NAME}"] == 3


def test_persistent_500_fails_clearly(http_server, tmp_path):
    http_server.script(f"/{NAME}", *[(500, {}, b"oops")] * 5)
    with pytest.raises(DownloadError, match="HTTP 500"):
        download(f"{http_server.url}/{NAME}", tmp_path / "d")
    assert _leftovers(tmp_path / "d") == []


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_page_instead_of_data(http_server, tmp_path, content_type):
    page = b"<!DOCTYPE html>\n<html><body>Rate limited</body></html>"
    http_server.script(f"/{NAME}", (200, {"Content-Type": content_type}, page))
    with pytest.raises(CorruptFileError, match="HTML page"):
        download(f"{http_server.url}/{NAME}", tmp_path / "d")
    assert _leftovers(tmp_path / "d") == []


def test_truncated_gzip(http_server, month_file, tmp_path):
    data = month_file.read_bytes()
    http_server.script(f"/{NAME}", (200, {}, data[: len(data) // 2]))
    with pytest.raises(CorruptFileError, match="truncated"):
        download(f"{http_server.url}/{NAME}", tmp_path / "d")
    assert _leftovers(tmp_path / "d") == []


def test_connection_closed_before_content_length(http_server, month_file, tmp_path):
    data = month_file.read_bytes()
    cut_short = (200, {"Content-Length": str(len(data))}, data[:1000])
    http_server.script(f"/{NAME}", cut_short)
    assert download(f"{http_server.url}/{NAME}", tmp_path / "d").read_bytes() == data  # retried
    http_server.script(f"/{NAME[:-3]}", *[cut_short] * 3)
    with pytest.raises(DownloadError, match="IncompleteRead"):
        download(f"{http_server.url}/{NAME[:-3]}", tmp_path / "e")
    assert _leftovers(tmp_path / "e") == []


def test_empty_file(http_server, tmp_path):
    http_server.script(f"/{NAME}", (200, {}, b""))
    with pytest.raises(CorruptFileError, match="empty"):
        download(f"{http_server.url}/{NAME}", tmp_path / "d")


def test_gzip_of_nothing(http_server, tmp_path):
    http_server.script(f"/{NAME}", (200, {}, gzip.compress(b"")))
    with pytest.raises(CorruptFileError, match="no CSV header"):
        download(f"{http_server.url}/{NAME}", tmp_path / "d")


def test_not_gzip_at_all(http_server, tmp_path):
    http_server.script(f"/{NAME}", (200, {}, b"VendorID,tpep_pickup_datetime\n1,2021-01-01\n"))
    with pytest.raises(CorruptFileError, match="not a gzip file"):
        download(f"{http_server.url}/{NAME}", tmp_path / "d")


def test_corrupt_parquet(http_server, tmp_path):
    name = "yellow_tripdata_2022-01.parquet"
    data = write_parquet(make_trips("yellow", "2022-01", 1000), tmp_path / name).read_bytes()
    http_server.script(f"/{name}", (200, {}, data[:-100]))
    with pytest.raises(CorruptFileError, match="parquet"):
        download(f"{http_server.url}/{name}", tmp_path / "d")
    http_server.script(f"/{name}", (200, {}, data))
    assert download(f"{http_server.url}/{name}", tmp_path / "d").read_bytes() == data


def test_redirect_to_another_month_is_refused(http_server, month_file, tmp_path):
    """Another month is detected from the file name the server really sends (after redirects)."""
    wanted = "/yellow_tripdata_2021-03.csv.gz"
    http_server.script(wanted, (302, {"Location": f"/{NAME}"}, b""))
    with pytest.raises(WrongMonthError, match="2021-01"):
        download(f"{http_server.url}{wanted}", tmp_path / "d")
    assert _leftovers(tmp_path / "d") == []


def test_content_disposition_of_another_month_is_refused(http_server, month_file, tmp_path):
    wanted = "/yellow_tripdata_2021-03.csv.gz"
    disposition = {"Content-Disposition": f"attachment; filename={NAME}"}
    http_server.script(wanted, (200, disposition, month_file.read_bytes()))
    with pytest.raises(WrongMonthError, match="2021-03"):
        download(f"{http_server.url}{wanted}", tmp_path / "d")
