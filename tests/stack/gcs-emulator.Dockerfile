# Test-only: a GCS API emulator for the in-stack run of data_ingestion_gcs. Built from the
# project's own image (no extra base image to pull), in a separate venv so Airflow's packages
# are untouched.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN python -m venv /home/airflow/gcs-emulator \
    && PIP_USER=false /home/airflow/gcs-emulator/bin/pip install --no-cache-dir gcp-storage-emulator==2026.7.19
