"""LocalIngestionDag processes the same month on Airflow 2.11.2 and 3.3.2.

Airflow 3 reads a plain cron string as CronTriggerTimetable, whose logical date is the run time, so a
DAG templating `logical_date.strftime('%Y-%m')` would load another month there. The DAG pins
CronDataIntervalTimetable; this asks each image's scheduler code which month the run that starts on
2021-04-02 loads. (The stack tests load months on both majors through the whole stack.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("months_probe.py")
IMAGES = ["apache/airflow:2.11.2-python3.11", "apache/airflow:3.3.2-python3.11"]

pytestmark = pytest.mark.images


@pytest.mark.parametrize("image", IMAGES)
def test_the_run_of_2021_04_02_loads_march_2021(image):
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.fail(f"image {image} is not available locally")
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python",
         "-e", "AIRFLOW__CORE__LOAD_EXAMPLES=False", "-e", "PYTHONPATH=/opt/airflow/plugins",
         "-v", f"{ROOT / 'dags'}:/dags:ro", "-v", f"{ROOT / 'plugins'}:/opt/airflow/plugins:ro",
         "-v", f"{PROBE}:/probe.py:ro", image, "/probe.py", "/dags"],
        capture_output=True, text=True, timeout=300)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, f"probe failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    assert json.loads(lines[-1][len("RESULT "):]) == {
        "run_after": "2021-04-02T06:00:00+00:00",
        "logical_date": "2021-03-02T06:00:00+00:00",
        "month": "2021-03",
    }
