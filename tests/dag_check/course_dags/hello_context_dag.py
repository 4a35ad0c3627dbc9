from datetime import timedelta

from airflow import DAG
from airflow.operators.dummy import DummyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.dates import days_ago


def print_run_date(**context):
    print("Processing the run of", context["ds"], "- logical date", context["execution_date"])


default_args = {
    "owner": "airflow",
    "depends_on_past": False,
    "start_date": days_ago(2),
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    "hello_context_dag",
    default_args=default_args,
    description="Start, print the run date, end",
    schedule_interval=timedelta(days=1),
    catchup=False,
) as dag:

    start = DummyOperator(task_id="start")

    print_date = PythonOperator(
        task_id="print_run_date",
        python_callable=print_run_date,
        provide_context=True,
    )

    end = DummyOperator(task_id="end")

    start >> print_date >> end
