"""NYC taxi trips -> GCS (parquet) -> BigQuery external table, one run per month.

Per taxi type: download -> normalized parquet -> gs://$GCP_GCS_BUCKET/raw/<taxi>/<year>/<file>.parquet
-> external table <dataset>.external_<taxi>_tripdata over gs://$GCP_GCS_BUCKET/raw/<taxi>/*
(-> optional table partitioned by pickup date, BIGQUERY_PARTITIONED_TABLE=true).

Settings come from the environment at run time (GCP_PROJECT_ID, GCP_GCS_BUCKET, BIGQUERY_DATASET,
GOOGLE_APPLICATION_CREDENTIALS, connection google_cloud_default) and the Airflow Variable
TAXI_URL_TEMPLATE; the logic lives in plugins/taxi_ingest/gcp.py. Without a key the file still
parses and the first task, check_gcp_setup, fails at once saying where to put the key.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task, task_group
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task, task_group

from taxi_ingest import gcp
from taxi_ingest.sources import DEFAULT_URL_TEMPLATE, TAXI_TYPES

# Rendered when the task runs, so the Variable is read then, not at parse time.
URL_TEMPLATE = "{{ var.value.get('TAXI_URL_TEMPLATE', '" + DEFAULT_URL_TEMPLATE + "') }}"
MONTH = "{{ logical_date.strftime('%Y-%m') }}"


@task(retries=0)
def check_gcp_setup() -> None:
    gcp.check_gcp_setup()


@task
def download(taxi: str, month: str, url_template: str) -> str:
    from taxi_ingest.download import download_month

    return str(download_month(taxi, month, url_template))


@task
def convert_to_parquet(src: str, taxi: str) -> str:
    return gcp.convert_month(src, taxi)


@task
def upload_to_gcs(local_path: str, taxi: str, month: str) -> str:
    return gcp.upload_month(local_path, taxi, month)


@task
def external_table(taxi: str) -> str:
    return gcp.external_table_task(taxi)


@task
def partitioned_table(taxi: str) -> str:
    return gcp.partitioned_table_task(taxi)


@dag(
    dag_id="data_ingestion_gcs",
    description="NYC taxi trips to GCS as parquet, queried through BigQuery external tables",
    schedule="0 6 2 * *",
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2021, 7, 31, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args={"owner": "airflow", "retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["nyc-taxi", "gcp"],
    doc_md=__doc__,
)
def data_ingestion_gcs():
    setup = check_gcp_setup()
    for taxi in TAXI_TYPES:

        @task_group(group_id=taxi)
        def ingest(taxi: str = taxi):
            src = download(taxi, MONTH, URL_TEMPLATE)
            local = convert_to_parquet(src, taxi)
            uploaded = upload_to_gcs(local, taxi, MONTH)
            table = external_table(taxi)
            uploaded >> table >> partitioned_table(taxi)

        setup >> ingest()


data_ingestion_gcs()
