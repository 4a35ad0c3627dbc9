from datetime import datetime

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator


with DAG(
    dag_id="postgres_create_zones_table",
    start_date=datetime(2022, 1, 1),
    schedule_interval="@once",
    catchup=False,
) as dag:

    create_table = PostgresOperator(
        task_id="create_zones_table",
        postgres_conn_id="postgres_default",
        sql="""
            CREATE TABLE IF NOT EXISTS zones (
                "LocationID" integer, "Borough" text, "Zone" text, service_zone text
            );
        """,
    )

    count_rows = PostgresOperator(
        task_id="count_zones",
        sql="SELECT count(*) FROM zones;",
    )

    create_table >> count_rows
