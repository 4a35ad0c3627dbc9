#!/usr/bin/env bash
# The whole test suite, as the README says: ./tests/run.sh [pytest args]
# Sets up .venv/ (pinned test environment, reused while tests/requirements.txt and
# tests/constraints.txt are unchanged), then runs pytest over tests/: lint, DAG integrity,
# the taxi_ingest library (with a real Postgres in Docker), the GCS/BigQuery layer against
# local emulators, and the whole compose stack end to end, including a headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { printf 'tests/run.sh: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null || fail "docker is not installed (https://docs.docker.com/engine/install/)"
docker info >/dev/null 2>&1 || fail "the Docker daemon is not reachable (is it running? may this user use it?)"
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
    || fail "neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed"

# Airflow 2.11 supports Python 3.9-3.12; the pins in tests/constraints.txt are resolved for 3.11.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
[[ -n "${PYTHON}" ]] || fail "python3 is not installed"
"${PYTHON}" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' \
    || fail "${PYTHON} is $("${PYTHON}" -V 2>&1); the tests need Python 3.10-3.12 (set PYTHON=/path/to/python3.11)"

# The browser test drives a real Chromium (Debian/Ubuntu package "chromium").
if [[ -z "${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "tests/run.sh: installing chromium (apt-get) for the browser test"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        fail "no chromium found: install it (sudo apt-get install chromium) or set CHROMIUM=/path/to/chrome"
    fi
fi

VENV=.venv
stamp="$(cat tests/requirements.txt tests/constraints.txt | sha256sum | cut -c1-16)"
if [[ ! -x "${VENV}/bin/python" || "$(cat "${VENV}/.installed" 2>/dev/null)" != "${stamp}" ]]; then
    echo "tests/run.sh: preparing ${VENV} (pinned test environment)"
    [[ -x "${VENV}/bin/python" ]] || "${PYTHON}" -m venv "${VENV}"
    "${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check uv
    "${VENV}/bin/python" -m uv pip install --quiet --python "${VENV}/bin/python" \
        -r tests/requirements.txt -c tests/constraints.txt
    echo "${stamp}" >"${VENV}/.installed"
fi

exec "${VENV}/bin/python" -m pytest "$@"
