"""Local fakes of Google Cloud, and the constants the GCP tests share.

- `GcsEmulator`: the real `gcp-storage-emulator` in a child process, in memory.
- `RecordingProxy`: forwards to another local server and records every request (to see chunked uploads).
- `FakeBigQuery`: just enough of the BigQuery REST API (tables get/insert/patch, query jobs), recording
  every request with its JSON body.
- `PROJECT`, `DATASET`, `GCP_ENV`, the anonymous connection and a fake service-account key.

Used by tests/gcp, the stack tests and benchmarks/gcs_benchmark.py.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from support.net import LocalServer, free_port, wait_for_port

PROJECT = "airflow-lite-test"
DATASET = "trips_data_all"

# Env vars the GCS pipeline reads; every GCP test starts without them (tests/gcp/conftest.py).
GCP_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCP_KEY_FILE",
    "GCP_PROJECT_ID",
    "GCP_GCS_BUCKET",
    "BIGQUERY_DATASET",
    "STORAGE_EMULATOR_HOST",
    "BIGQUERY_EMULATOR_HOST",
    "BIGQUERY_PARTITIONED_TABLE",
    "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
    "GOOGLE_CLOUD_PROJECT",
    "API_ENDPOINT_OVERRIDE",
)


def anonymous_conn_uri(project: str = PROJECT) -> str:
    """The connection for an emulator: no key, anonymous credentials (URI form)."""
    return f"google-cloud-platform://?is_anonymous=true&project={project}"


def anonymous_conn_json(project: str = PROJECT) -> str:
    """The same connection in the JSON form of AIRFLOW_CONN_* (Airflow >= 2.3)."""
    return json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": project}}
    )


def fake_service_account_key(secret: str = "SECRET-PRIVATE-KEY-MATERIAL") -> dict:
    """A key file's content in the real format; `secret` must never show up in logs or errors."""
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n",
        "client_email": f"ingest@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


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
                wait_for_port(self.port, self.proc)
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


class RecordingProxy(LocalServer):
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
class FakeBigQuery(LocalServer):
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
