"""A throwaway real Postgres server for tests: a container on a random loopback port."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import psycopg2

# The same image the compose stack uses, so a user's machine pulls it once.
POSTGRES_IMAGE = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:16")


def _wait_until_accepting(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(url, connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def start_postgres_container() -> tuple[str, str]:
    """Start Postgres in Docker; return (container name, admin URL of its `postgres` database)."""
    name = f"airflow-lite-test-pg-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "docker", "run", "-d", "--rm", "--name", name,
            "-e", "POSTGRES_PASSWORD=test", "-e", "POSTGRES_USER=test", "-e", "POSTGRES_DB=postgres",
            "--tmpfs", "/var/lib/postgresql/data",
            "-p", "127.0.0.1::5432", POSTGRES_IMAGE,
        ],
        check=True, capture_output=True, text=True,
    )
    port = subprocess.run(
        ["docker", "port", name, "5432/tcp"], check=True, capture_output=True, text=True
    ).stdout.split()[0].rsplit(":", 1)[1]
    url = f"postgresql://test:test@127.0.0.1:{port}/postgres"
    try:
        _wait_until_accepting(url)
    except Exception:
        stop_postgres_container(name)
        raise
    return name, url


def stop_postgres_container(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
