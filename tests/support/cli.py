"""Run ./airflow-lite, the repo's command-line tool, against a Stack: the Stack's copy of the script, with
its project name, port, compose files (COMPOSE_FILE) and compose command (COMPOSE, v1 or v2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.stack import Stack


def cli_env(stack: Stack, **extra: str) -> dict[str, str]:
    """The environment a user of this stack would have: compose reads COMPOSE_FILE and
    COMPOSE_PROJECT_NAME itself; the script picks the compose command from COMPOSE."""
    return {**stack.env, "COMPOSE_FILE": ":".join(stack.files), "COMPOSE": " ".join(stack.compose_cmd),
            **extra}


def airflow_lite(stack: Stack, *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = (),
                 cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """./airflow-lite ARGS in the stack's copy of the repo (or from `cwd`); never raises on its exit code."""
    run_env = cli_env(stack, **(env or {}))
    for name in unset:
        run_env.pop(name, None)
    return subprocess.run([str(stack.dir / "airflow-lite"), *args], cwd=cwd or stack.dir, env=run_env,
                          capture_output=True, text=True, timeout=timeout)


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr
