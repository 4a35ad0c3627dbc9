"""The stack with the Celery override and 2 workers (plus Flower), started once for tests/celery and
removed after it (module scope), so it never idles beside the other stacks of the session."""

from __future__ import annotations

import pytest
from celery_stack import TEST_FILES, CeleryStack

WORKERS = 2
CONCURRENCY = 4


@pytest.fixture(scope="module")
def celery_stack(tmp_path_factory, figures, artifacts_dir):
    s = CeleryStack(tmp_path_factory.mktemp("celery"), workers=WORKERS, override_files=TEST_FILES, env={
        "COMPOSE_PROFILES": "flower",
        "AIRFLOW_WORKER_CONCURRENCY": str(CONCURRENCY),
        # every slot usable: parallelism caps the whole installation, workers included
        "AIRFLOW_PARALLELISM": str(WORKERS * CONCURRENCY),
    })
    s.build()
    try:
        s.up_seconds = s.up()
        figures.append(f"celery stack ({' '.join(s.compose_cmd)}, {WORKERS} workers + flower): "
                       f"up -d to all healthy {s.up_seconds:.1f} s")
        yield s
    finally:
        s.files = ["docker-compose.yaml", *TEST_FILES]  # a test may have switched back to the plain file
        (artifacts_dir / "celery-stack.log").write_text(s.logs())
        s.down()
