#!/usr/bin/env bash
# Is this Airflow component working? The probe that healthcheck.sh runs, for either major:
#
#   probe.sh webserver   2.x: the webserver's /health; 3.x: the api-server's /api/v2/monitor/health.
#   probe.sh scheduler   the scheduler loop's heartbeat less than 20 s old; on 3.x also the DAG
#                        processor's less than 60 s old (a long parse delays it).
#   probe.sh triggerer   the triggerer's heartbeat less than 20 s old.
#
# Both heartbeat every 5 s (job_heartbeat_sec, scheduler_heartbeat_sec): 20 s is 3 missed beats.
# Stricter than Airflow's own 30 s ([scheduler] scheduler_health_check_threshold, [triggerer]
# triggerer_health_check_threshold, what its UI and `airflow jobs check` show) because healthcheck.sh
# then wants 3 failed checks in a row: 30 s of silence in all before a restart, and a frozen
# component healthy again within 60 s of freezing.
#
# A heartbeat is read from the job table with psql: what `airflow jobs check --job-type X --hostname
# $HOSTNAME` asks, without that command's Airflow CLI start (seconds of CPU per check), and what the
# scheduler's own health server (:8974/health) answers, without that server: a process of its own
# (~20 MiB) that the stack turns off (AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK). A hung loop stops
# heartbeating; so does a stuck DAG processor (apache/airflow#49689).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # metadata_sql

major="${AIRFLOW_LITE_AIRFLOW_VERSION%%.*}"

# 3 s (healthcheck.sh's AIRFLOW_LITE_HEALTH_TIMEOUT, 8 s, bounds the other probes): /health answers in
# milliseconds, so a hung webserver fails each check quickly; 3 of them in a row restart it.
get() { curl --fail --silent --max-time 3 --output /dev/null "$1"; }

# Airflow 3's api-server still warming up: right after its first answer, scripts/entrypoint.sh
# (warm_execution_api) knocks on /execution/health, and the worker answers nothing else until it has
# built that API (seconds of CPU; more on a busy machine, enough for 3 failed checks). The knock's curl
# (at most 120 s) is then still running in this container. Bash builtins only: no procps in the image.
warming_up() {
    local cmdline args
    for cmdline in /proc/[0-9]*/cmdline; do
        mapfile -d '' args 2>/dev/null <"${cmdline}" || continue
        if [[ "${args[0]:-}" == curl* && "${args[*]}" == *"/execution/health"* ]]; then
            echo "api-server still building its task-execution API (scripts/entrypoint.sh)" >&2
            return 0
        fi
    done
    return 1
}

# heartbeats_fresh JOB_TYPE MAX_AGE [JOB_TYPE MAX_AGE ...]: for each type, the newest running job on this
# host (Airflow records socket.getfqdn(), the container's hostname) heartbeated less than MAX_AGE
# seconds ago (jobs heartbeat every 5 s by default). One psql for all of them: each psql is a process
# and a Postgres connection, and a check runs every few seconds for months.
heartbeats_fresh() {
    local -A max_age=()
    local types=() rows job_type age stale=0
    while (( $# )); do
        max_age[$1]="$2"; types+=("$1"); shift 2
    done
    rows="$(metadata_sql --set host="${HOSTNAME}" --set types="${types[*]}" <<'SQL'
SELECT t, coalesce(extract(epoch FROM now() - max(j.latest_heartbeat))::int::text, 'never')
FROM unnest(string_to_array(:'types', ' ')) AS t
LEFT JOIN job AS j ON j.job_type = t AND j.state = 'running' AND j.hostname = :'host'
GROUP BY t;
SQL
)"
    while IFS='|' read -r job_type age; do
        if [[ "${age}" == never ]] || (( age >= max_age[${job_type}] )); then
            echo "${job_type} on ${HOSTNAME}: last heartbeat ${age} s ago" >&2
            stale=1
        fi
    done <<<"${rows}"
    return "${stale}"
}

case "${1:?usage: probe.sh webserver|scheduler|triggerer}" in
    webserver)
        if (( major >= 3 )); then
            get http://localhost:8080/api/v2/monitor/health || warming_up
        else
            get http://localhost:8080/health
        fi
        ;;
    scheduler)
        if (( major >= 3 )); then
            heartbeats_fresh SchedulerJob 20 DagProcessorJob 60
        else
            heartbeats_fresh SchedulerJob 20
        fi
        ;;
    triggerer) heartbeats_fresh TriggererJob 20 ;;
    *) echo "probe.sh: unknown component $1" >&2; exit 2 ;;
esac
