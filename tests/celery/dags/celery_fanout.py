"""Test-only DAGs for tests/celery and benchmarks/celery_benchmark.py (copied into a Stack's dags/).

Each is N independent sleeps (seconds from the run's conf, `{"seconds": 5}`, default 2) with retries
after a short delay, so a task lost with a killed worker runs again on another one.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


@task
def nap(params=None) -> None:
    time.sleep(float(params["seconds"]))


def sleep_dag(dag_id: str, count: int):
    @dag(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         max_active_tasks=count, params={"seconds": 2},
         default_args={"retries": 2, "retry_delay": timedelta(seconds=5)})
    def sleeps():
        for i in range(count):
            nap.override(task_id=f"sleep_{i:02d}")()

    return sleeps()


# 20 parallel tasks spread over the workers.
celery_fanout = sleep_dag("celery_fanout", 20)
# Few enough to all start at once on 2 workers x 4 slots: the worker-kill test.
celery_kill = sleep_dag("celery_kill", 8)
# The benchmark's 40 five-second sleeps.
celery_benchmark = sleep_dag("celery_benchmark", 40)
