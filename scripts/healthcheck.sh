#!/usr/bin/env bash
# Healthcheck of a long-running Airflow component that also heals it:
#
#   healthcheck.sh COMMAND [ARGS...]     e.g. healthcheck.sh curl --fail http://localhost:8974/health
#
# Runs the probe COMMAND (at most AIRFLOW_LITE_HEALTH_TIMEOUT seconds) and exits with its verdict,
# as a plain healthcheck would. In addition it counts consecutive failures; after
# AIRFLOW_LITE_UNHEALTHY_EXIT_AFTER of them it kills every process of the container, so the
# container exits and its restart policy (`unless-stopped`) starts it again. Docker itself never
# restarts an unhealthy container (restart policies react only to exits; moby/moby#28400), and
# this needs no extra image such as autoheal.
#
# A slow start is never punished: failures count only once the component has been healthy since
# this start, or when it is older than AIRFLOW_LITE_START_GRACE seconds (a component that hangs
# at start is healed too, just later). (Airflow 3's api-server, busy building its task-execution API
# right after its first answer, passes its probe meanwhile: scripts/probe.sh.)
#
# Frozen to healthy again within 60 s (tests/stack/test_faults.py, benchmarks/recovery_benchmark.py): 3
# failures in a row end a hung webserver 15-18 s after it stops answering (checks 3 s apart, each
# giving up after 3 s: scripts/probe.sh, docker-compose.yaml), and a scheduler or triggerer 10-15 s
# after its heartbeat turned 20 s old (checks 5 s apart); the restart and the first passing check
# take another 10-35 s (the webserver the longest). A busy component is not taken for a hung one: it
# would have to fail 3 checks in a row (no answer to /health within 3 s for 15 s and more; no
# heartbeat for 30 s and more); a slow answer or a Postgres restart costs one. (6 checks 5 s apart,
# each probe up to 8 s: 62-89 s.)
set -uo pipefail

MAX_FAILURES="${AIRFLOW_LITE_UNHEALTHY_EXIT_AFTER:-3}"
START_GRACE="${AIRFLOW_LITE_START_GRACE:-180}"
PROBE_TIMEOUT="${AIRFLOW_LITE_HEALTH_TIMEOUT:-8}"
# "<start time of PID 1> <failures> <healthy since this start: 0|1>"
STATE="${AIRFLOW_LITE_HEALTH_STATE:-/tmp/airflow-lite-health}"

# This start of the container: PID 1's start time (clock ticks since boot, field 22 of
# /proc/1/stat). /tmp survives a container restart; the counter must not.
stat="$(</proc/1/stat)"
read -r -a fields <<<"${stat##*) }"
started="${fields[19]}"

saved_started=""; failures=0; was_healthy=0
[[ -r "${STATE}" ]] && read -r saved_started failures was_healthy <"${STATE}"
if [[ "${saved_started}" != "${started}" ]]; then
    failures=0; was_healthy=0
fi

if timeout --kill-after=2 "${PROBE_TIMEOUT}" "$@"; then
    echo "${started} 0 1" >"${STATE}"
    exit 0
fi

read -r uptime _ </proc/uptime
age=$(( ${uptime%.*} - started / $(getconf CLK_TCK) ))
if [[ "${was_healthy}" == 1 ]] || (( age >= START_GRACE )); then
    failures=$((failures + 1))
fi
echo "${started} ${failures} ${was_healthy}" >"${STATE}"
if (( failures >= MAX_FAILURES )); then
    # To PID 1's stderr, so `docker compose logs` says why the container restarted.
    printf 'airflow-lite: health check failed %s times in a row: stopping this container so that its restart policy starts it again\n' \
        "${failures}" >/proc/1/fd/2 2>/dev/null || true
    rm -f "${STATE}"
    # Every process of this user but PID 1 (dumb-init) and this shell; dumb-init exits when its
    # child dies, and with it the container. SIGKILL: a hung process may ignore SIGTERM.
    kill -KILL -1
fi
exit 1
