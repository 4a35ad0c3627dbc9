"""NYC taxi months into Postgres, and as canonical parquet into GCS + BigQuery: streaming, idempotent.

Plain Python: no module of this package imports Airflow. The DAG files in dags/ hold the Airflow glue
(they build hooks from connections, pass them or their connections and clients in, and decide when a
task is skipped); the CLI (`python -m taxi_ingest`) calls the same functions without Airflow.

Modules:
- sources, schemas: taxi types, months, URLs, file names; the canonical columns of each taxi type.
- download: one month's file, validated, reused when complete.
- csvstream, normalize: any edition of a month (csv, csv.gz, parquet) read as canonical rows;
  normalize also writes them as parquet.
- months: the rule that a file holds the month it is loaded as (both pipelines).
- postgres, pgcopy: atomic per-month loads with COPY, and the row-count check.
- gcp_setup, gcp: the GCS pipeline's settings and key check; upload and BigQuery tables.
- errors, progress, cli.
"""

import logging

logger = logging.getLogger("taxi_ingest")
