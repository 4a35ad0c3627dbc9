"""docker-compose.celery.yaml as compose resolves it, under v1 and v2: no containers started.

Every Airflow service of both files extends the one container of airflow-common.yaml; these tests
check what compose makes of that: the same container everywhere, Celery settings on all of them."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from support.stack import COMPOSE_V1, COMPOSE_V2, REPO, compose_installed

FILES = ["-f", "docker-compose.yaml", "-f", "docker-compose.celery.yaml"]
AIRFLOW_SERVICES = ("airflow-init", "webserver", "scheduler", "triggerer", "retention", "airflow-worker",
                    "flower")


@pytest.fixture(params=[COMPOSE_V1, COMPOSE_V2], ids=["compose-v1", "compose-v2"])
def compose(request):
    if not compose_installed(request.param):
        pytest.skip(f"{' '.join(request.param)} is not installed here")

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*request.param, *args], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result

    run.cmd = request.param
    return run


def config(compose, *extra: str) -> dict:
    result = compose(*FILES, *extra, "config")
    assert "WARNING" not in result.stderr.replace("`version` is obsolete", ""), result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_every_airflow_service_uses_celery_with_the_same_broker_and_backend(compose):
    services = config(compose, "--profile", "flower")
    celery = {k: v for k, v in services["scheduler"]["environment"].items() if "CELERY" in k}
    assert celery["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert celery["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert {k: v for k, v in env.items() if k in celery} == celery, name


# What each service adds to the common container on purpose.
OWN_ENV = {"airflow-init": {"_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD"},
           "airflow-worker": {"DUMB_INIT_SETSID"}, "flower": {"AIRFLOW__CELERY__FLOWER_BASIC_AUTH"}}
SAME_CONTAINER = ("image", "volumes", "restart", "stop_grace_period", "build")


def test_every_airflow_service_is_the_same_container(compose):
    services = config(compose, "--profile", "flower")
    scheduler = services["scheduler"]
    assert scheduler["stop_grace_period"] == "30s" and scheduler["restart"] == "unless-stopped"
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = {k: v for k, v in service["environment"].items() if k not in OWN_ENV.get(name, set())}
        assert env == scheduler["environment"], name
        for key in SAME_CONTAINER:
            if name == "airflow-init" and key == "restart":
                continue  # one-shot: "no"
            assert service.get(key) == scheduler.get(key), (name, key)
        if name != "airflow-init":  # init starts as root, then runs Airflow as AIRFLOW_UID
            assert service["user"] == scheduler["user"], name
    for name in ("airflow-worker", "flower"):
        assert {dep: cond["condition"] for dep, cond in services[name]["depends_on"].items()} == {
            "postgres": "service_healthy", "redis": "service_healthy",
            "airflow-init": "service_completed_successfully",
            # the worker stops before the API server its tasks report to (Airflow 3)
            **({"webserver": "service_started"} if name == "airflow-worker" else {})}, name
    assert services["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown


def test_scheduler_waits_for_redis_and_the_worker_has_no_fixed_name_or_port(compose):
    services = config(compose)
    assert services["scheduler"]["depends_on"]["redis"]["condition"] == "service_healthy"
    worker = services["airflow-worker"]
    assert not {"container_name", "hostname", "ports"} & set(worker)  # --scale needs neither
    assert "ports" not in services["redis"]


def test_flower_only_with_its_profile():
    # compose v1's `config` lists services of every profile (its `up` honours them): v2 only
    if not compose_installed(COMPOSE_V2):
        pytest.skip("docker compose (v2+) is not installed here")
    run = [*COMPOSE_V2, *FILES, "config", "--services"]
    plain = subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    with_flower = subprocess.run([*COMPOSE_V2, *FILES, "--profile", "flower", "config", "--services"],
                                 cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert "flower" not in plain and "airflow-worker" in plain
    assert set(with_flower) - set(plain) == {"flower"}


def test_the_plain_compose_file_still_uses_the_local_executor(compose):
    services = yaml.safe_load(compose("-f", "docker-compose.yaml", "config").stdout)["services"]
    assert services["scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert "redis" not in services
