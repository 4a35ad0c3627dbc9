"""A Stack running the Celery override: `up` scales airflow-worker, the test DAGs are dropped into dags/."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from support.net import free_port
from support.stack import Stack

HERE = Path(__file__).resolve().parent
CELERY_FILES = ("docker-compose.celery.yaml",)
TEST_FILES = (*CELERY_FILES, "tests/celery/docker-compose.test.yaml")


class CeleryStack(Stack):
    """`Stack` with `-f docker-compose.celery.yaml` (plus extra override files) and N workers."""

    def __init__(self, workdir: Path, *, workers: int = 2, override_files: tuple[str, ...] = CELERY_FILES,
                 env: dict[str, str] | None = None, **kw):
        super().__init__(workdir, override_files=override_files,
                         env={"FLOWER_PORT": str(free_port()), **(env or {})}, **kw)
        self.workers = workers
        shutil.copy(HERE / "dags" / "celery_fanout.py", self.dir / "dags" / "celery_fanout.py")

    def up(self, timeout: float = 300) -> float:
        t0 = time.monotonic()
        self.compose("up", "-d", "--scale", f"airflow-worker={self.workers}")
        self.wait_healthy(timeout)
        return time.monotonic() - t0

    def worker_hostnames(self) -> dict[str, str]:
        """Running worker container id -> its hostname (what Airflow records as a task's hostname)."""
        return {cid: self.inspect(cid, "{{.Config.Hostname}}")
                for cid in self.container_ids("airflow-worker")}

    def env_of(self, container: str) -> dict[str, str]:
        lines = self.inspect(container, "{{range .Config.Env}}{{println .}}{{end}}").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)
