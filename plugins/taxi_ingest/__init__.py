"""Load NYC taxi months into Postgres and parquet: streaming, idempotent, atomic per month.

Plain Python (no Airflow import): the DAGs and the CLI (`python -m taxi_ingest`) both call it.
"""

import logging

logger = logging.getLogger("taxi_ingest")
