"""Fixtures for the ingest tests: a local HTTP server with scripted answers, generated month files."""

from __future__ import annotations

import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class ScriptedServer:
    """Serves files from `root`; `script(path, *answers)` queues special answers for one path.

    An answer is (status, headers, body); body may be bytes or a Path. Requests are counted per path.
    """

    def __init__(self, root: Path):
        self.root = root
        self.answers: dict[str, list] = defaultdict(list)
        self.hits: dict[str, int] = defaultdict(int)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.hits[self.path] += 1
                if server.answers[self.path]:
                    status, headers, body = server.answers[self.path].pop(0)
                else:
                    file = server.root / self.path.lstrip("/")
                    if file.is_file():
                        status, headers, body = 200, {"Content-Type": "application/octet-stream"}, file
                    else:
                        status, headers, body = 404, {"Content-Type": "text/plain"}, b"Not Found"
                data = body.read_bytes() if isinstance(body, Path) else body
                self.send_response(status)
                headers = {"Content-Length": str(len(data)), **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def script(self, path: str, *answers) -> None:
        self.answers[path].extend(answers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    server = ScriptedServer(root)
    try:
        yield server
    finally:
        server.close()
