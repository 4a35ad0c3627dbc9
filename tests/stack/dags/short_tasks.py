"""Test DAG (copied into a stack's dags/ by tests/stack/test_retention.py): two short tasks, the first
with an XCom and a log line, so a run leaves rows in every table retention cleans. Both majors."""

import pendulum

try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

with DAG("short_tasks", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["test"]):
    say = BashOperator(task_id="say", bash_command="echo hello")  # its last line is an XCom
    say >> BashOperator(task_id="done", bash_command="true")
