#!/usr/bin/env bash
# Is this Airflow component working? The probe that healthcheck.sh runs, for either major:
#
#   probe.sh webserver   2.x: the webserver's /health; 3.x: the api-server's /api/v2/monitor/health.
#   probe.sh scheduler   the scheduler's health server (:8974/health, failing 30 s after the scheduler
#                        loop's last heartbeat); on 3.x also the DAG processor beside it: its job
#                        heartbeated in the last 60 s (a stuck processor stops heartbeating).
set -euo pipefail

major="${AIRFLOW_LITE_AIRFLOW_VERSION%%.*}"
get() { curl --fail --silent --output /dev/null "$1"; }

case "${1:?usage: probe.sh webserver|scheduler}" in
    webserver)
        if (( major >= 3 )); then
            get http://localhost:8080/api/v2/monitor/health
        else
            get http://localhost:8080/health
        fi
        ;;
    scheduler)
        get http://localhost:8974/health
        if (( major >= 3 )); then
            # `airflow jobs check --job-type DagProcessorJob` asks the same, at the cost of a full
            # Airflow CLI start (seconds of CPU) per check; this costs a python and one query.
            exec python - <<'PY'
import os, socket, sys
import psycopg2
url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", "", 1)
with psycopg2.connect(url, connect_timeout=5) as conn, conn.cursor() as cur:
    cur.execute("SELECT extract(epoch FROM now() - max(latest_heartbeat)) FROM job "
                "WHERE job_type = 'DagProcessorJob' AND state = 'running' AND hostname = %s",
                (socket.getfqdn(),))
    (age,) = cur.fetchone()
sys.exit(0 if age is not None and age < 60 else f"DAG processor: last heartbeat {age} s ago")
PY
        fi
        ;;
    *) echo "probe.sh: unknown component $1" >&2; exit 2 ;;
esac
