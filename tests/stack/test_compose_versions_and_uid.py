"""The same compose file under compose v1 and v2. (A stack under v1 with another AIRFLOW_UID: the
shared stack of tests/stack on Airflow 3, see its conftest.)"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from support.stack import COMPOSE_V1, COMPOSE_V2, PROJECT_SERVICES, REPO, compose_installed, dotenv_settings


@pytest.mark.parametrize("cmd", [COMPOSE_V1, COMPOSE_V2], ids=["compose-v1", "compose-v2"])
def test_compose_file_is_accepted(cmd):
    if not compose_installed(cmd):
        pytest.skip(f"{' '.join(cmd)} is not installed here")
    result = subprocess.run([*cmd, "config"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr.replace("`version` is obsolete", ""), result.stderr
    # airflow-common.yaml's one container, as every Airflow service resolves it
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == set(PROJECT_SERVICES)
    sched = services["scheduler"]
    for service in (services[name] for name in PROJECT_SERVICES if name != "postgres"):
        assert service["image"] == sched["image"] and service["volumes"] == sched["volumes"]
        assert service["stop_grace_period"] == "30s"
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert service["environment"]["AIRFLOW__CORE__FERNET_KEY_CMD"].endswith("/secrets/fernet_key")
    init = services["airflow-init"]
    components = [services[name] for name in PROJECT_SERVICES if name not in {"postgres", "airflow-init"}]
    assert all(c["environment"] == sched["environment"] for c in components)
    assert {k: v for k, v in init["environment"].items() if not k.startswith("_AIRFLOW_WWW")} \
        == sched["environment"]
    assert init["user"] == "0:0" and init["restart"] == "no"
    for service in components:
        assert service["user"] == f"{dotenv_settings(REPO / '.env')['AIRFLOW_UID']}:0"
        assert service["restart"] == "unless-stopped"
        assert {d: c["condition"] for d, c in service["depends_on"].items()} == {
            "postgres": "service_healthy", "airflow-init": "service_completed_successfully",
            # the scheduler stops before the API server its tasks report to (Airflow 3); the
            # triggerer (database only) stops beside it
            **({"webserver": "service_started"} if service is sched else {})}


@pytest.mark.parametrize("cmd", [COMPOSE_V1, COMPOSE_V2], ids=["compose-v1", "compose-v2"])
def test_a_setting_missing_from_env_is_named(cmd, tmp_path):
    if not compose_installed(cmd):
        pytest.skip(f"{' '.join(cmd)} is not installed here")
    for name in ("docker-compose.yaml", "airflow-common.yaml"):
        shutil.copy(REPO / name, tmp_path)
    lines = (REPO / ".env").read_text().splitlines()
    (tmp_path / ".env").write_text("\n".join(x for x in lines if not x.startswith("AIRFLOW_UID=")) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_UID"}
    result = subprocess.run([*cmd, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "set AIRFLOW_UID in .env" in result.stderr


def test_every_env_setting_is_used_by_a_compose_file():
    files = ("airflow-common.yaml", "docker-compose.yaml", "docker-compose.celery.yaml")
    compose = "".join((REPO / name).read_text() for name in files)
    settings = [line.split("=", 1)[0] for line in (REPO / ".env").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert settings
    unused = [name for name in settings if "${" + name not in compose]
    assert unused == [], f"set in .env but never passed on by docker-compose*.yaml: {unused}"
