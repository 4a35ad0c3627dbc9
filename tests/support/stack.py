"""Drive a copy of this project's compose stack from tests and benchmarks.

Each Stack works on a private copy of the repo (its own dags/, logs/, data/), with its own compose
project name and a free host port, so a stack the user runs from the checkout is never touched.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import requests

from support.api import AirflowApi
from support.net import free_port

REPO = Path(__file__).resolve().parents[2]
# What a user's clone holds that the stack needs; local state (logs, data, keys, venvs) is left out.
# The services of docker-compose.yaml (test overrides may add others).
PROJECT_SERVICES = ("postgres", "airflow-init", "webserver", "scheduler", "triggerer", "retention")
_NOT_COPIED = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "test-artifacts"}


# The two releases the repo supports; .env picks one (DEFAULT_AIRFLOW_VERSION, below).
AIRFLOW2_VERSION = "2.11.2"
AIRFLOW3_VERSION = "3.3.2"

COMPOSE_V1 = ["docker-compose"]
COMPOSE_V2 = ["docker", "compose"]


def compose_installed(cmd: list[str]) -> bool:
    """Whether this compose command (COMPOSE_V1 or COMPOSE_V2) runs here."""
    if shutil.which(cmd[0]) is None:
        return False
    return subprocess.run([*cmd, "version"], capture_output=True).returncode == 0


def compose_command() -> list[str]:
    """`docker compose` (v2+) when present, else `docker-compose` (v1); $COMPOSE overrides."""
    if os.environ.get("COMPOSE"):
        return shlex.split(os.environ["COMPOSE"])
    return COMPOSE_V2 if compose_installed(COMPOSE_V2) else COMPOSE_V1


def copy_project(dest: Path, source: Path = REPO) -> Path:
    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        skipped = {n for n in names if n in _NOT_COPIED}
        if here.name in {"logs", "data", "google", "backups"} and here.parent == source:
            skipped |= {n for n in names if n not in {".gitkeep", "README.md"}}
        return skipped

    shutil.copytree(source, dest, ignore=ignore, symlinks=True)
    return dest


class Stack:
    """One compose project: `up`, wait until healthy, talk to the REST API, tear down."""

    def __init__(self, workdir: Path, *, env: dict[str, str] | None = None,
                 compose: list[str] | None = None, override_files: tuple[str, ...] = (),
                 port: int | None = None, source: Path = REPO):
        # source: the repo to copy (another checkout of it for a benchmark's baseline)
        self.dir = copy_project(workdir / "project", source)
        self.project = f"alite-{uuid.uuid4().hex[:8]}"
        self.port = port or free_port()  # the host port of the UI and API (AIRFLOW_WEB_PORT)
        self.compose_cmd = compose or compose_command()
        self.files = ["docker-compose.yaml", *override_files]
        self.env = {**os.environ, "COMPOSE_PROJECT_NAME": self.project,
                    "AIRFLOW_WEB_PORT": str(self.port), **(env or {})}
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api = AirflowApi(self.base_url, self.major)

    # --- compose ---------------------------------------------------------------------------------
    def compose_argv(self, *args: str) -> list[str]:
        """The compose command line for this project's files."""
        cmd = [*self.compose_cmd]
        for f in self.files:
            cmd += ["-f", f]
        return [*cmd, *args]

    def compose(self, *args: str, check: bool = True, timeout: float = 600,
                input: str | None = None) -> subprocess.CompletedProcess:
        cmd = self.compose_argv(*args)
        result = subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True,
                                text=True, timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def compose_in_background(self, *args: str) -> subprocess.Popen:
        """Start a compose command and return at once; `.communicate()` waits for its output."""
        return subprocess.Popen(self.compose_argv(*args), cwd=self.dir, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    @property
    def image(self) -> str:
        """The project image compose builds (as airflow-common.yaml names it)."""
        name, version, python = (self.setting(k) for k in ("AIRFLOW_IMAGE_NAME", "AIRFLOW_VERSION",
                                                           "AIRFLOW_PYTHON_VERSION"))
        return f"{name}:{version}-python{python}"

    @property
    def base_image(self) -> str:
        """The official image the Dockerfile builds FROM."""
        version, python = self.setting("AIRFLOW_VERSION"), self.setting("AIRFLOW_PYTHON_VERSION")
        return f"apache/airflow:{version}-python{python}"

    @property
    def major(self) -> int:
        """The Airflow major this stack runs (AIRFLOW_VERSION)."""
        return int(self.setting("AIRFLOW_VERSION").split(".")[0])

    def setting(self, name: str) -> str:
        """A setting as compose sees it: this stack's environment, else its .env."""
        return self.env.get(name) or dotenv_settings(self.dir / ".env")[name]

    def build(self) -> None:
        self.compose("build")

    def up(self, timeout: float = 240) -> float:
        """`up -d` and wait until every service with a healthcheck is healthy; seconds taken."""
        t0 = time.monotonic()
        self.compose("up", "-d")
        self.wait_healthy(timeout)
        return time.monotonic() - t0

    def container_ids(self, service: str | None = None, all_states: bool = False) -> list[str]:
        """Containers of this project's services (running ones unless all_states), found by compose's
        labels: `compose ps` differs between v1 (lists exited containers) and v2. Not the one-off
        containers of `compose run` that a test may keep running beside the stack."""
        cmd = ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
               "--filter", "label=com.docker.compose.oneoff=False"]
        if service:
            cmd += ["--filter", f"label=com.docker.compose.service={service}"]
        if all_states:
            cmd.append("-a")
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()

    def inspect(self, container: str, fmt: str) -> str:
        return subprocess.run(["docker", "inspect", "-f", fmt, container], capture_output=True,
                              text=True, check=True).stdout.strip()

    def health(self) -> dict[str, str]:
        """Running container name -> "healthy"/"starting"/"unhealthy", or "running" without a healthcheck."""
        out = {}
        for cid in self.container_ids():
            name = self.inspect(cid, "{{.Name}}").lstrip("/")
            out[name] = self.inspect(cid, "{{if .State.Health}}{{.State.Health.Status}}{{else}}"
                                          "{{.State.Status}}{{end}}")
        return out

    def wait_healthy(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = self.health()
            if states and all(s in {"healthy", "running"} for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"stack not healthy after {timeout} s: {states}\n{self.logs()[-5000:]}")
            time.sleep(0.5)

    def logs(self, service: str | None = None) -> str:
        r = self.compose("logs", "--no-color", *([service] if service else []), check=False)
        return r.stdout + r.stderr

    def service_log(self, service: str) -> str:
        """What the service's container printed (`logs` may add a one-off `compose run` container's)."""
        (cid,) = self.container_ids(service)
        result = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, check=True)
        return result.stdout + result.stderr

    def exec(self, service: str, *cmd: str, check: bool = True, input: str | None = None
             ) -> subprocess.CompletedProcess:
        return self.compose("exec", "-T", service, *cmd, check=check, input=input)

    def down(self) -> None:
        """Remove containers and volumes, and files the containers wrote into the copy."""
        self.compose("down", "-v", "--remove-orphans", check=False)
        # Task logs belong to AIRFLOW_UID, which may not be the test's user: remove them as root
        # in a container of the project image rather than leave them behind.
        subprocess.run(["docker", "run", "--rm", "--user", "0:0", "--entrypoint", "rm",
                        "-v", f"{self.dir}:/project", self.image, "-rf", "/project/logs", "/project/data"],
                       capture_output=True)

    # --- REST API (support.api: v1 on Airflow 2, v2 on Airflow 3) -------------------------------------
    def get(self, path: str, **kw) -> requests.Response:
        return self.api.get(path, **kw)

    def dag_ids(self) -> list[str]:
        return self.api.dag_ids()

    def wait_for_dag(self, dag_id: str, timeout: float = 60) -> float:
        t0 = time.monotonic()
        while dag_id not in self.dag_ids():
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"DAG {dag_id} not listed after {timeout} s; "
                                     f"import errors: {self.api.import_errors()}")
            time.sleep(0.5)
        return time.monotonic() - t0

    def trigger(self, dag_id: str, logical_date: str | None = None, conf: dict | None = None) -> str:
        """Unpause `dag_id` and create a run; returns its run id."""
        self.api.set_paused(dag_id, False)
        return self.api.create_run(dag_id, logical_date, conf)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300, poll: float = 0.2) -> str:
        """Poll every `poll` seconds until the run finishes; returns its final state."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.api.run(dag_id, run_id)["state"]
            if state in {"success", "failed"}:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{dag_id}/{run_id} still {state} after {timeout} s")
            time.sleep(poll)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api.task_instances(dag_id, run_id)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        return self.api.task_log(dag_id, run_id, task_id, try_number)


def env_options(settings: dict[str, str]) -> list[str]:
    """The `-e NAME=VALUE` options of `compose run` / `compose exec` that set these variables."""
    return [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]


def dotenv_settings(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value
    return values


DEFAULT_AIRFLOW_VERSION = dotenv_settings(REPO / ".env")["AIRFLOW_VERSION"]
# The release .env does not pick: the stack tests run it too, so both majors are tested either way.
OTHER_AIRFLOW_VERSION = AIRFLOW3_VERSION if DEFAULT_AIRFLOW_VERSION.startswith("2.") else AIRFLOW2_VERSION
