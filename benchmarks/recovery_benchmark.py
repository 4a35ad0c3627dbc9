"""How long the stack takes to recover from each fault, repeated, on both Airflow majors (prints the
distribution, asserts nothing). One fault stack per major, as tests/stack/test_faults.py builds it (the
test services and tests/stack/docker-compose.faults.yaml, generated taxi files served in the stack), and
per repeat:

- Postgres restarted mid-load (`docker compose restart postgres` while LocalIngestionDag's yellow COPY
  runs, plus a random 0..--jitter s so the restart lands at different moments of the load): restart
  to run success;
- the scheduler's container killed mid-load (every process, as the OOM killer would): kill to run
  success;
- the scheduler's loop, the webserver and the triggerer frozen at once (SIGSTOP): each freeze to that
  container restarted by its healthcheck (scripts/healthcheck.sh) and healthy again.

    .venv/bin/python benchmarks/recovery_benchmark.py [--versions 2.11.2 3.3.2] [--repeats 10]
        [--faults postgres scheduler-kill freeze] [--jitter 2] [--logs DIR]

Targets (2 cores), both majors: Postgres restart and scheduler kill to run success, max <= 90 s;
frozen component to healthy again, max <= 60 s. With --logs, the compose logs of every repeat slower
than its target are written to DIR.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "plugins")]  # as pytest's pythonpath (pyproject.toml)
from stack.conftest import stack_with_test_services  # noqa: E402
from support.faults import (  # noqa: E402
    DAG,
    SELF_HEALING,
    freeze_and_time_healing,
    kill_scheduler_container,
    load_with_fault,
    restart_postgres,
)
from support.stack import AIRFLOW2_VERSION, AIRFLOW3_VERSION, Stack  # noqa: E402
from support.stack_taxi import logical_date  # noqa: E402

LOAD_FAULTS = {"postgres": restart_postgres, "scheduler-kill": kill_scheduler_container}
TARGETS = {"postgres": 90, "scheduler-kill": 90, **{f"freeze {s}": 60 for s in SELF_HEALING}}
# LocalIngestionDag's months (its end_date is 2021-12-31); later repeats run a month again.
MONTHS = [f"2021-{m:02d}" for m in range(1, 13)]


def month_run(stack: Stack, month: str) -> str | None:
    """The run id of `month`'s run, if it has one."""
    wanted = logical_date(month)[:19]
    for run in stack.api.runs(DAG):
        if (run.get("logical_date") or run.get("execution_date") or "")[:19] == wanted:
            return run["dag_run_id"]
    return None


def save_logs(stack: Stack, logs: Path | None, label: str) -> None:
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"{stack.setting('AIRFLOW_VERSION')}-{label}-{time.strftime('%H%M%S')}.log"
        path.write_text(stack.logs())
        print(f"    logs: {path}", flush=True)


def measure(version: str, repeats: int, faults: list[str], jitter: float, logs: Path | None) -> dict:
    results: dict[str, list[float]] = {}
    notes: dict[str, list[str]] = {}
    loads = 0
    with tempfile.TemporaryDirectory() as tmp:
        stack = stack_with_test_services(Path(tmp), "tests/stack/docker-compose.faults.yaml",
                                         env={"AIRFLOW_VERSION": version})
        try:
            print(f"{version}: up -d to all healthy {stack.up(timeout=300):.0f} s", flush=True)
            stack.wait_for_dag(DAG, timeout=120)
            for n in range(repeats):
                for fault in faults:
                    labels = [f"freeze {s}" for s in SELF_HEALING] if fault == "freeze" else [fault]
                    try:
                        if fault == "freeze":
                            healed = freeze_and_time_healing(stack)
                            for service, seconds in healed.items():
                                results.setdefault(f"freeze {service}", []).append(seconds)
                            line = " ".join(f"{s} {t:.0f} s" for s, t in healed.items())
                        else:
                            month = MONTHS[loads % len(MONTHS)]
                            loads += 1

                            def strike(fault=fault):
                                time.sleep(random.uniform(0, jitter))
                                LOAD_FAULTS[fault](stack)

                            _, tries, seconds = load_with_fault(stack, month, MONTHS.index(month), strike,
                                                                rerun=month_run(stack, month))
                            results.setdefault(fault, []).append(seconds)
                            line = f"{seconds:.0f} s (yellow load tries: {tries['yellow.load'][1]})"
                        print(f"  [{n + 1}/{repeats}] {fault}: {line}", flush=True)
                        if any(results[label][-1] > TARGETS[label] for label in labels if label in results):
                            save_logs(stack, logs, fault)
                    except Exception:  # noqa: BLE001 - a failed repeat is a figure too
                        for label in labels:
                            notes.setdefault(label, []).append(f"repeat {n + 1} failed")
                        print(f"  [{n + 1}/{repeats}] {fault}: FAILED\n{traceback.format_exc()[-3000:]}",
                              flush=True)
                        save_logs(stack, logs, f"{fault}-failed")
                    stack.wait_healthy(timeout=300)  # the next fault strikes a healthy stack
        finally:
            stack.down()
    return {"results": results, "notes": notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=[AIRFLOW2_VERSION, AIRFLOW3_VERSION])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--faults", nargs="+", default=["postgres", "scheduler-kill", "freeze"],
                        choices=["postgres", "scheduler-kill", "freeze"])
    parser.add_argument("--jitter", type=float, default=2.0,
                        help="a random delay of up to this many seconds from the COPY's start to the fault")
    parser.add_argument("--logs", type=Path, help="write the compose logs of slow or failed repeats here")
    args = parser.parse_args()
    measured = {version: measure(version, args.repeats, args.faults, args.jitter, args.logs)
                for version in args.versions}

    print(f"\n{'fault (seconds to recovered)':34s}{'Airflow':>9s}{'n':>4s}{'min':>7s}{'median':>8s}"
          f"{'max':>7s}{'target':>8s}  all")
    for label in TARGETS:
        for version in args.versions:
            values = measured[version]["results"].get(label, [])
            failed = measured[version]["notes"].get(label, [])
            if not values and not failed:
                continue
            figures = (f"{min(values):7.0f}{statistics.median(values):8.0f}{max(values):7.0f}" if values
                       else f"{'-':>7s}{'-':>8s}{'-':>7s}")
            print(f"{label:34s}{version:>9s}{len(values):4d}{figures}{'<= ' + str(TARGETS[label]):>8s}  "
                  + " ".join(f"{v:.0f}" for v in values) + (f"  ({'; '.join(failed)})" if failed else ""))


if __name__ == "__main__":
    main()
