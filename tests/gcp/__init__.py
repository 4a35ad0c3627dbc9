"""Tests of the GCS + BigQuery pipeline (taxi_ingest.gcp, dags/data_ingestion_gcs.py)."""
