"""The host test environment (.venv) runs the same Airflow, providers and libraries as the image.

Host-side tests (DAG integrity, the GCS layer against emulators, DagRuns via dag.test()) prove
something about the stack only while .venv holds the versions the image ships. tests/constraints.txt
pins them; this test fails as soon as the built image and .venv disagree on any package both have.
"""

from __future__ import annotations

import json
import subprocess
from importlib import metadata

import pytest
from packaging.utils import canonicalize_name

# .venv is Airflow 2.11's (the default major's) test environment.
pytestmark = pytest.mark.airflow2_only

# Installers differ on purpose (the image's pip is the image's business).
TOOLING = {"pip", "setuptools", "wheel", "uv"}
LIST_DISTRIBUTIONS = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def _normalized(versions: dict[str, str]) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in versions.items()
            if canonicalize_name(name) not in TOOLING}


def image_versions(image: str) -> dict[str, str]:
    out = subprocess.run(["docker", "run", "--rm", "--entrypoint", "python", image, "-c", LIST_DISTRIBUTIONS],
                         capture_output=True, text=True, check=True).stdout
    return _normalized(json.loads(out.strip().splitlines()[-1]))


def venv_versions() -> dict[str, str]:
    return _normalized({d.metadata["Name"]: d.version for d in metadata.distributions()})


def test_venv_has_the_images_versions_of_every_shared_package(stack):
    image = image_versions(stack.image)
    venv = venv_versions()
    differing = {name: {"image": image[name], ".venv": venv[name]}
                 for name in sorted(image.keys() & venv.keys()) if image[name] != venv[name]}
    assert differing == {}, f"re-pin tests/constraints.txt from the image's constraints: {differing}"
    # the packages the tests lean on are really in both, not compared vacuously
    for name in ("apache-airflow", "apache-airflow-providers-google", "apache-airflow-providers-postgres",
                 "apache-airflow-providers-common-sql", "apache-airflow-providers-common-compat",
                 "apache-airflow-providers-celery", "apache-airflow-providers-redis",
                 "google-cloud-storage", "google-cloud-bigquery", "psycopg2-binary", "pyarrow", "pandas"):
        assert name in image and name in venv, name
