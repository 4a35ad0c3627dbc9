"""Local fakes for Google's APIs, all bound to 127.0.0.1 on random ports.

- `GcsEmulator`: the real `gcp-storage-emulator` in a child process, in memory.
- `RecordingProxy`: forwards to another local server and records every request (to see chunked uploads).
- `FakeBigQuery`: just enough of the BigQuery REST API (tables get/insert/patch, query jobs), recording
  every request with its JSON body.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"emulator exited early with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s") from None
            time.sleep(0.05)


class GcsEmulator:
    """`python -m gcp_storage_emulator start --in-memory` on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GcsEmulator:
        for _ in range(5):  # the free port can be taken between probing and binding: retry
            self.port = free_port()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gcp_storage_emulator",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--in-memory",
                    "--quiet",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                _wait_for_port(self.port, self.proc)
                return self
            except RuntimeError:
                continue
        raise RuntimeError(
            "could not start gcp-storage-emulator: " + self.proc.stderr.read().decode()[-2000:]
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread."""

    handler_cls: type[BaseHTTPRequestHandler]

    def start(self):
        handler = type("Handler", (self.handler_cls,), {"owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self):
        return json.loads(self.body) if self.body else None


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: RecordingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.owner.requests.append(
            Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
        )
        conn = http.client.HTTPConnection("127.0.0.1", self.owner.target_port, timeout=30)
        # Keep the Host header: the emulator builds resumable-session URLs from it, so they point here.
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.owner.requests[-1].status = resp.status
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


class RecordingProxy(_Server):
    handler_cls = _ProxyHandler

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.requests: list[Recorded] = []


# --------------------------------------------------------------------------------------------------
# BigQuery fake
# --------------------------------------------------------------------------------------------------

_TABLES = re.compile(r"^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/?$")
_TABLE = re.compile(r"^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)$")
_JOBS = re.compile(r"^/bigquery/v2/projects/([^/]+)/jobs/?$")
_JOB = re.compile(r"^/bigquery/v2/projects/([^/]+)/(?:jobs|queries)/([^/]+)$")


def _error(code: int, status: str, reason: str, message: str) -> tuple[int, dict]:
    return code, {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "errors": [{"reason": reason, "message": message, "domain": "global"}],
        }
    }


class _BigQueryHandler(BaseHTTPRequestHandler):
    owner: FakeBigQuery
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        rec = Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
        with self.owner.lock:
            self.owner.requests.append(rec)
            code, payload = self.owner.answer(rec)
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@dataclass
class FakeBigQuery(_Server):
    """Tables live in `tables` (keyed "project.dataset.table"); datasets in `datasets` must exist."""

    datasets: set[str] = field(default_factory=set)  # "project.dataset"
    tables: dict[str, dict] = field(default_factory=dict)
    jobs: dict[str, dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    handler_cls = _BigQueryHandler

    def calls(self, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if method is None or r.method == method]

    def answer(self, rec: Recorded) -> tuple[int, dict]:
        if m := _TABLE.match(rec.path):
            project, dataset, table = m.groups()
            key = f"{project}.{dataset}.{table}"
            if rec.method == "GET":
                if key not in self.tables:
                    return _error(
                        404, "NOT_FOUND", "notFound", f"Not found: Table {project}:{dataset}.{table}"
                    )
                return 200, self.tables[key]
            if rec.method in ("PATCH", "PUT"):
                if key not in self.tables:
                    return _error(
                        404, "NOT_FOUND", "notFound", f"Not found: Table {project}:{dataset}.{table}"
                    )
                resource = self.tables[key] if rec.method == "PATCH" else {}
                resource.update(rec.json())
                resource["etag"] = uuid.uuid4().hex
                self.tables[key] = resource
                return 200, resource
        if (m := _TABLES.match(rec.path)) and rec.method == "POST":
            project, dataset = m.groups()
            resource = rec.json()
            ref = resource["tableReference"]
            key = f"{ref['projectId']}.{ref['datasetId']}.{ref['tableId']}"
            if f"{project}.{dataset}" not in self.datasets:
                return _error(404, "NOT_FOUND", "notFound", f"Not found: Dataset {project}:{dataset}")
            if key in self.tables:
                return _error(409, "ALREADY_EXISTS", "duplicate", f"Already Exists: Table {key}")
            resource = {
                **resource,
                "kind": "bigquery#table",
                "id": key,
                "etag": uuid.uuid4().hex,
                "type": "EXTERNAL" if "externalDataConfiguration" in resource else "TABLE",
            }
            self.tables[key] = resource
            return 200, resource
        if (m := _JOBS.match(rec.path)) and rec.method == "POST":
            job = rec.json()
            ref = job.setdefault("jobReference", {})
            ref.setdefault("projectId", m.group(1))
            ref.setdefault("jobId", uuid.uuid4().hex)
            job.update(
                {
                    "kind": "bigquery#job",
                    "id": f"{ref['projectId']}:{ref['jobId']}",
                    "status": {"state": "DONE"},
                    "statistics": {"query": {}},
                }
            )
            self.jobs[ref["jobId"]] = job
            return 200, job
        if (m := _JOB.match(rec.path)) and rec.method == "GET":
            job = self.jobs.get(m.group(2))
            if job is None:
                return _error(404, "NOT_FOUND", "notFound", f"Not found: Job {m.group(2)}")
            if "/queries/" in rec.path:
                return 200, {
                    "kind": "bigquery#getQueryResultsResponse",
                    "jobComplete": True,
                    "jobReference": job["jobReference"],
                    "totalRows": "0",
                    "schema": {"fields": []},
                    "rows": [],
                }
            return 200, job
        return _error(400, "INVALID_ARGUMENT", "invalid", f"fake BigQuery: unhandled {rec.method} {rec.path}")
