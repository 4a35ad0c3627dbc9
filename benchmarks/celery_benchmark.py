"""Benchmark the lite stack (LocalExecutor) against the Celery override on the same machine.

One DAG run of 40 independent five-second sleeps (tests/celery/dags/celery_fanout.py, DAG
celery_benchmark) on each stack, started one after the other from private copies of the repo:

  * plain:  docker-compose.yaml, parallelism from .env (AIRFLOW_PARALLELISM);
  * celery: + docker-compose.celery.yaml, --workers workers x --concurrency slots, parallelism
            raised to workers x concurrency (what the README tells users to do).

    .venv/bin/python benchmarks/celery_benchmark.py
    .venv/bin/python benchmarks/celery_benchmark.py --workers 3 --concurrency 4 --seconds 5
    COMPOSE=docker-compose .venv/bin/python benchmarks/celery_benchmark.py   # compose v1

Prints, per stack: seconds from `up -d` to healthy, wall time from trigger to the run's success,
and the span from the first task's start to the last task's end (the part the executor decides);
then the ratio plain / celery. Asserts nothing. Both stacks share the machine's cores: on one host
Celery adds task slots, not CPU, so the ratio mostly reflects the parallelism each stack allows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "celery")]

from celery_stack import HERE, CeleryStack  # noqa: E402
from support.stack import Stack, compose_command, dotenv_settings  # noqa: E402

DAG_ID = "celery_benchmark"
TASKS = 40


def run_once(stack: Stack, seconds: float) -> dict[str, float]:
    stack.wait_for_dag(DAG_ID, timeout=120)
    t0 = time.monotonic()
    run_id = stack.trigger(DAG_ID, conf={"seconds": seconds})
    state = stack.wait_for_run(DAG_ID, run_id, timeout=1800)
    wall = time.monotonic() - t0
    tis = [ti for ti in stack.task_instances(DAG_ID, run_id) if ti["task_id"].startswith("sleep_")]
    starts = [datetime.fromisoformat(ti["start_date"]) for ti in tis if ti["start_date"]]
    ends = [datetime.fromisoformat(ti["end_date"]) for ti in tis if ti["end_date"]]
    return {"state": state, "wall": wall, "span": (max(ends) - min(starts)).total_seconds(),
            "hosts": len({ti["hostname"] for ti in tis}), "tasks": len(tis)}


def measure(name: str, stack: Stack, seconds: float, build: bool) -> dict[str, float]:
    try:
        if build:
            stack.build()
        up = stack.up()
        result = {"up": up, **run_once(stack, seconds)}
    finally:
        stack.down()
    print(f"{name:<7} up {result['up']:6.1f} s | trigger->{result['state']} {result['wall']:6.1f} s | "
          f"first start->last end {result['span']:6.1f} s | {result['tasks']} tasks on "
          f"{result['hosts']} host(s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="task slots per worker (default 4)")
    parser.add_argument("--celery-parallelism", type=int,
                        help="AIRFLOW_PARALLELISM of the Celery stack (default workers x concurrency)")
    parser.add_argument("--seconds", type=float, default=5, help="sleep of each task (default 5)")
    parser.add_argument("--no-build", action="store_true", help="use the image as it is")
    args = parser.parse_args()

    plain_parallelism = dotenv_settings(ROOT / ".env")["AIRFLOW_PARALLELISM"]
    celery_parallelism = args.celery_parallelism or args.workers * args.concurrency
    print(f"{TASKS} tasks x {args.seconds:g} s sleep; compose: {' '.join(compose_command())}")
    print(f"plain:  LocalExecutor, parallelism {plain_parallelism} (.env)")
    print(f"celery: {args.workers} workers x {args.concurrency} slots, parallelism {celery_parallelism}")

    with tempfile.TemporaryDirectory(prefix="celery-bench-") as tmp:
        plain = Stack(Path(tmp) / "plain")
        shutil.copy(HERE / "dags" / "celery_fanout.py", plain.dir / "dags")
        a = measure("plain", plain, args.seconds, build=not args.no_build)

        celery = CeleryStack(Path(tmp) / "celery", workers=args.workers, env={
            "AIRFLOW_WORKER_CONCURRENCY": str(args.concurrency),
            "AIRFLOW_PARALLELISM": str(celery_parallelism)})
        b = measure("celery", celery, args.seconds, build=False)

    ideal = TASKS * args.seconds
    print(f"ideal (no overhead): plain {ideal / int(plain_parallelism):.1f} s, "
          f"celery {ideal / celery_parallelism:.1f} s")
    print(f"ratio plain/celery: wall {a['wall'] / b['wall']:.2f}x, task span {a['span'] / b['span']:.2f}x")


if __name__ == "__main__":
    main()
