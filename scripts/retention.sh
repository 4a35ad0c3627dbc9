#!/usr/bin/env bash
# Retention: what keeps a stack that stays up for months from filling its disk. The retention service
# runs it; each window is a .env setting in days, or "off" to keep everything of that kind.
#
#   retention.sh run     the service: a pass now and every AIRFLOW_CLEANUP_INTERVAL_MINUTES:
#                        - logs/: the official image's /clean-logs (Airflow's log groomer, the Helm
#                          chart's sidecar) deletes *.log files older than AIRFLOW_LOG_RETENTION_DAYS;
#                        - the metadata database: `airflow db clean` deletes rows older than
#                          AIRFLOW_DB_RETENTION_DAYS, never those of a DAG run still running;
#                        - data/: downloads not used for AIRFLOW_DATA_RETENTION_DAYS are deleted
#                          (taxi_ingest touches a file it reuses), and partial ones after a day.
#   retention.sh pass    one pass of the metadata and data/ cleanup, now.
#   retention.sh check   the healthcheck: fails while anything is overdue (older than its window
#                        and two passes), so a hung or dead cleanup is restarted and cleans at start.
#
# Compressed time, for benchmarks only (benchmarks/docker-compose.soak.yaml): AIRFLOW_LITE_RETENTION_DAY_MINUTES
# makes a window's "day" that many minutes, so that an hour's soak sees retention at work. /clean-logs
# of the 2.11.2 and 3.3.2 images counts whole days only (find -mtime; minutes came later, apache/airflow#61855),
# so in compressed time logs are trimmed here with the same find, in minutes.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # metadata_sql

LOGS_DIR="${AIRFLOW_HOME:-/opt/airflow}/logs"
DATA_DIR="${TAXI_DATA_DIR:-/opt/airflow/data}"

log() { printf 'airflow-lite retention: %s\n' "$*" >&2; }

# days NAME: the window in days of .env setting NAME ("off" or a whole number >= 1).
days() {
    local value="${!1:?$1 is not set (.env)}"
    local setting="${1#AIRFLOW_LITE_}"
    setting="AIRFLOW_${setting}"
    if [[ "${value}" != off && ! "${value}" =~ ^[1-9][0-9]*$ ]]; then
        log "ERROR: ${setting}=${value} in .env: give a whole number of days (1 or more) or off"
        exit 2
    fi
    echo "${value}"
}

LOG_DAYS="$(days AIRFLOW_LITE_LOG_RETENTION_DAYS)"
DB_DAYS="$(days AIRFLOW_LITE_DB_RETENTION_DAYS)"
DATA_DAYS="$(days AIRFLOW_LITE_DATA_RETENTION_DAYS)"
DAY_MINUTES="${AIRFLOW_LITE_RETENTION_DAY_MINUTES:-1440}"
if [[ ! "${DAY_MINUTES}" =~ ^[1-9][0-9]*$ ]]; then
    log "ERROR: AIRFLOW_LITE_RETENTION_DAY_MINUTES=${DAY_MINUTES}: give a whole number of minutes (1 or more)"
    exit 2
fi
INTERVAL="${AIRFLOW_LITE_CLEANUP_INTERVAL_MINUTES:?AIRFLOW_CLEANUP_INTERVAL_MINUTES is not set (.env)}"
if [[ ! "${INTERVAL}" =~ ^[1-9][0-9]*$ ]]; then
    log "ERROR: AIRFLOW_CLEANUP_INTERVAL_MINUTES=${INTERVAL} in .env: give a whole number of minutes (1 or more)"
    exit 2
fi
# What the healthcheck allows beyond a window before it calls the cleanup stuck: two passes.
SLACK_MINUTES=$((2 * INTERVAL))

# The metadata cutoff, SLACK minutes before "now - AIRFLOW_DB_RETENTION_DAYS", and never later than
# the start of the oldest running DAG run: `airflow db clean` deletes by age, table by table, so a
# run still running (and its task instances, XComs, logs) must be younger than the cutoff.
# In SQL, with psql variable :minutes the age in minutes (the healthcheck asks it in the same query).
CUTOFF_SQL="least(now() - make_interval(mins => :minutes),
                  (SELECT min(start_date) FROM dag_run WHERE state = 'running'))"
# metadata_minutes SLACK: the metadata window in minutes, plus SLACK minutes.
metadata_minutes() { echo $((DB_DAYS * DAY_MINUTES + $1)); }
metadata_cutoff() {
    metadata_sql --set minutes="$(metadata_minutes "$1")" <<<"SELECT ${CUTOFF_SQL}"
}

clean_metadata() {
    [[ "${DB_DAYS}" == off ]] && return 0
    local cutoff deleted extra=()
    cutoff="$(metadata_cutoff 0)"
    (( ${AIRFLOW_LITE_AIRFLOW_VERSION%%.*} >= 3 )) && extra=(--error-on-cleanup-failure)
    # --skip-archive: the archive tables Airflow would fill instead grow just the same.
    # (PYTHONWARNINGS: the library warnings every Airflow CLI start prints are not about this.)
    deleted="$(PYTHONWARNINGS=ignore airflow db clean --clean-before-timestamp "${cutoff}" --skip-archive \
        --yes "${extra[@]}" | awk '/^Found [0-9]+ rows/ { n += $2 } END { print n + 0 }')"
    log "metadata: deleted ${deleted} rows older than ${cutoff} (airflow db clean, not archived)"
}

clean_data() {
    [[ "${DATA_DAYS}" == off || ! -d "${DATA_DIR}" ]] && return 0
    log "data: deleting files not used for ${DATA_DAYS} days, and partial downloads older than a day"
    find "${DATA_DIR}" -type f -name '.*.part' -mmin +"${DAY_MINUTES}" -print -delete
    # (hidden files are not downloads: data/.gitkeep, which keeps the folder in git, stays)
    find "${DATA_DIR}" -type f ! -name '.*' -mmin +$((DATA_DAYS * DAY_MINUTES)) -print -delete
}

# The log groomer: the image's own, trimming at start and then every FREQUENCY minutes (its knobs);
# in compressed time the same trim in minutes (see the top).
groom_logs() {
    if (( DAY_MINUTES == 1440 )); then
        AIRFLOW__LOG_RETENTION_DAYS="${LOG_DAYS}" AIRFLOW__LOG_CLEANUP_FREQUENCY_MINUTES="${INTERVAL}" \
            exec /clean-logs
    fi
    while true; do
        find "${LOGS_DIR}" -type f -name '*.log' -mmin +$((LOG_DAYS * DAY_MINUTES)) -delete || true
        find "${LOGS_DIR}" -mindepth 1 -type d -empty -delete || true
        sleep $((INTERVAL * 60))
    done
}

# One pass of what /clean-logs does not do. A failure is reported and retried at the next pass;
# if it persists, the healthcheck sees the overdue rows or files.
pass() {
    clean_metadata || log "ERROR: the metadata cleanup failed (retried in ${INTERVAL} minutes)"
    clean_data || log "ERROR: the data/ cleanup failed (retried in ${INTERVAL} minutes)"
}

run() {
    log "keeping logs ${LOG_DAYS} days, metadata ${DB_DAYS} days, data/ ${DATA_DAYS} days;" \
        "a pass now and every ${INTERVAL} minutes"
    (( DAY_MINUTES == 1440 )) || log "compressed time (benchmark): a day is ${DAY_MINUTES} minutes"
    local children=()
    if [[ "${LOG_DAYS}" != off ]]; then
        groom_logs &
        children+=($!)
    fi
    (while true; do pass; sleep $((INTERVAL * 60)); done) &
    children+=($!)
    # `docker compose stop`: dumb-init has sent SIGTERM to every process here; exit cleanly.
    trap 'exit 0' TERM INT
    # Either loop ending is a fault: end the container so that its restart policy starts both again.
    wait -n "${children[@]}" || true
    log "a cleanup loop ended: stopping the container so that it restarts"
    exit 1
}

# What the healthcheck fails on: anything older than its window and two passes.
overdue() {
    if [[ "${LOG_DAYS}" != off ]] && [[ -d "${LOGS_DIR}" ]]; then
        # /clean-logs deletes by whole days (find -mtime +N: N+1 days old)
        local log_minutes=$(( (LOG_DAYS + 1) * 1440 ))
        (( DAY_MINUTES == 1440 )) || log_minutes=$(( LOG_DAYS * DAY_MINUTES ))
        find "${LOGS_DIR}" -type f -name '*.log' -mmin +$(( log_minutes + SLACK_MINUTES )) \
            -printf 'log file %p\n' -quit
    fi
    if [[ "${DATA_DAYS}" != off ]] && [[ -d "${DATA_DIR}" ]]; then
        find "${DATA_DIR}" -type f \( ! -name '.*' -mmin +$(( DATA_DAYS * DAY_MINUTES + SLACK_MINUTES )) -o \
            -name '.*.part' -mmin +$(( DAY_MINUTES + SLACK_MINUTES )) \) -printf 'data file %p\n' -quit
    fi
    if [[ "${DB_DAYS}" != off ]]; then
        # the audit log table: every task and run writes to it, and only the cleanup deletes from it
        metadata_sql --set minutes="$(metadata_minutes "${SLACK_MINUTES}")" <<<"
SELECT 'metadata: log table rows since ' || min(dttm) FROM log WHERE dttm < ${CUTOFF_SQL} HAVING count(*) > 0"
    fi
}

check() {
    local late
    late="$(overdue)"
    if [[ -n "${late}" ]]; then
        echo "retention is overdue: ${late}" >&2
        return 1
    fi
}

case "${1:-}" in
    run) run ;;
    pass) pass ;;
    check) check ;;
    *) echo "usage: retention.sh run|pass|check" >&2; exit 2 ;;
esac
