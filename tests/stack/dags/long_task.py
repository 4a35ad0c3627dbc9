"""Test DAG (in the shared stacks' dags/ from the start, see tests/stack/conftest.py): one task of three
minutes, longer than twelve task-token lifetimes of the test stacks
(tests/stack/docker-compose.compressed-time.yaml) and than the stack's heartbeat timeout. Unpaused and
@once: it starts with the stack, so the tests wait for it only at the end. Runs on both majors."""

import pendulum

try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

SECONDS = 180

with DAG("long_task", schedule="@once", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, is_paused_upon_creation=False, tags=["test"]):
    BashOperator(
        task_id="three_minutes",
        bash_command=f"for s in $(seq 20 20 {SECONDS}); do sleep 20; echo \"still running after $s s\"; done",
    )
