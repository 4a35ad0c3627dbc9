"""Local network helpers for tests: a free port, waiting for a listener, and a scripted HTTP server.

`HttpServer` serves the files of a folder (in place of the taxi-file mirror) and can
script special answers for one path (errors, HTML pages, truncated bodies); it counts requests per path.
`LocalServer` is the base of every in-process fake (see gcp_fakes.py): a ThreadingHTTPServer on
127.0.0.1:<random port> in a daemon thread.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    """A port free right now on 127.0.0.1 (it can be taken before use: callers that bind retry)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    """Until something listens on 127.0.0.1:port; fails early if `proc` (the would-be listener) exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s") from None
            time.sleep(0.05)


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread; subclasses set `handler_cls`.

    The handler class gets the server object as its `owner` attribute. Usable as a context manager.
    """

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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _FolderHandler(BaseHTTPRequestHandler):
    owner: HttpServer

    def do_GET(self):  # noqa: N802 - http.server's naming
        server = self.owner
        with server.lock:
            server.hits[self.path] += 1
            answer = server.answers[self.path].pop(0) if server.answers[self.path] else None
        if answer is not None:
            status, headers, body = answer
        else:
            file = server.root / self.path.split("?", 1)[0].lstrip("/")
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

    def log_message(self, *args):  # quiet
        pass


class HttpServer(LocalServer):
    """Serves the files under `root`; `script(path, *answers)` queues special answers for one path.

    An answer is (status, headers, body); body may be bytes or a Path. `hits` counts requests per path.
    """

    handler_cls = _FolderHandler

    def __init__(self, root: Path):
        self.root = Path(root)
        self.answers: dict[str, list] = defaultdict(list)
        self.hits: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def script(self, path: str, *answers) -> None:
        with self.lock:
            self.answers[path].extend(answers)
