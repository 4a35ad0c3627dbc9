"""Test DAG (copied into a stack's dags/ by tests/stack/test_triggerer.py): a sensor that defers to the
triggerer for a few seconds, then a task after it. Runs on both majors."""

from datetime import timedelta

import pendulum

try:  # Airflow 3: the standard provider's sensor defers when asked to
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
    from airflow.sdk import DAG

    def wait(delta: timedelta):
        return TimeDeltaSensor(task_id="wait", delta=delta, deferrable=True)
except ImportError:  # Airflow 2: the sensor's async variant always defers
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.sensors.time_delta import TimeDeltaSensorAsync

    def wait(delta: timedelta):
        return TimeDeltaSensorAsync(task_id="wait", delta=delta)  # noqa: AIR312 (the 2.x branch)


with DAG("deferred_sensor", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["test"]):
    # from the run's data interval end (the trigger time of a manual run), so it is always deferred
    wait(timedelta(seconds=5)) >> BashOperator(task_id="after", bash_command="echo resumed")
