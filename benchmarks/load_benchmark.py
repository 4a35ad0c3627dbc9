"""Figures for the lite stack under load (prints, asserts nothing):

1. one run of a DAG of --tasks short Python tasks (AIRFLOW_PARALLELISM from .env at a time);
2. LocalIngestionDag catching up all 12 months of 2021, files generated here and served inside the
   stack by the test service taxi-files (tests/stack/docker-compose.test.yaml).

For each: completion time, failed task instances (should be 0), the scheduler's health throughout
(samples that were not `healthy`, restarts) and the peak memory of each container (docker stats,
sampled every few seconds).

    .venv/bin/python benchmarks/load_benchmark.py [--tasks 200] [--rows 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "tests")]
from stack.conftest import stack_with_test_services  # noqa: E402
from support.memory import container_memory  # noqa: E402
from support.stack_taxi import psql, serve_month  # noqa: E402

FANOUT = '''
import pendulum
from airflow.decorators import dag, task


@dag(dag_id="bench_fanout", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def bench_fanout():
    @task
    def short(i: int) -> int:
        return i

    for i in range({n}):
        short.override(task_id=f"t{{i:03d}}")(i)


bench_fanout()
'''


class Sampler(threading.Thread):
    """Peak memory per container and the scheduler's health, sampled until stopped."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.stack, self.peak, self.unhealthy, self.samples = stack, {}, 0, 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for name, used in container_memory(self.stack).items():
                self.peak[name] = max(self.peak.get(name, 0), used)
            ids = self.stack.container_ids("scheduler")
            health = self.stack.inspect(ids[0], "{{.State.Health.Status}}") if ids else "gone"
            self.samples += 1
            self.unhealthy += health != "healthy"
            self.done.wait(2)

    def stop(self) -> None:
        self.done.set()
        self.join()


def restarts(stack, service: str) -> int:
    return sum(int(stack.inspect(c, "{{.RestartCount}}")) for c in stack.container_ids(service))


def task_states(stack, dag_id: str) -> dict[str, int]:
    out = psql(stack, f"SELECT state, count(*) FROM task_instance WHERE dag_id = '{dag_id}' GROUP BY state",
               db="airflow")
    return {state or "none": int(n) for state, n in (line.split("|") for line in out.splitlines())}


def measure(stack, label: str, start, finished, timeout: float = 3600) -> None:
    before = restarts(stack, "scheduler")
    sampler = Sampler(stack)
    sampler.start()
    t0 = time.monotonic()
    start()
    while not finished():
        if time.monotonic() - t0 > timeout:
            print(f"{label}: not finished after {timeout} s")
            break
        time.sleep(1)
    seconds = time.monotonic() - t0
    sampler.stop()
    print(f"\n{label}: {seconds:.0f} s")
    print(f"  scheduler: {sampler.unhealthy} of {sampler.samples} health samples not healthy, "
          f"{restarts(stack, 'scheduler') - before} restarts")
    for name, peak in sorted(sampler.peak.items()):
        print(f"  peak memory {name:<16} {peak / 2**20:7.0f} MiB")
    print(f"  peak memory total           {sum(sampler.peak.values()) / 2**20:7.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--rows", type=int, default=20_000, help="yellow rows per month (green, fhv: half)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = stack_with_test_services(Path(tmp))
        (stack.dir / "dags" / "bench_fanout.py").write_text(FANOUT.format(n=args.tasks))
        months = [f"2021-{m:02d}" for m in range(1, 13)]
        for month in months:
            serve_month(stack, month, {"yellow": args.rows, "green": args.rows // 2, "fhv": args.rows // 2})
        try:
            stack.up()
            print(f"parallelism {stack.setting('AIRFLOW_PARALLELISM')}, {stack.compose_cmd[-1]}")
            stack.wait_for_dag("bench_fanout", timeout=120)
            run = {}

            def fanout_done() -> bool:
                state = stack.api.run("bench_fanout", run["id"])["state"]
                return state in {"success", "failed"}

            measure(stack, f"{args.tasks} short tasks, trigger to run finished",
                    lambda: run.update(id=stack.trigger("bench_fanout")), fanout_done)
            print(f"  task states: {task_states(stack, 'bench_fanout')}")

            def all_months_done() -> bool:
                runs = stack.api.runs("LocalIngestionDag")
                return len(runs) == len(months) and all(r["state"] in {"success", "failed"} for r in runs)

            stack.wait_for_dag("LocalIngestionDag", timeout=120)
            measure(stack, f"LocalIngestionDag catch-up, {len(months)} months x 3 taxi types "
                           f"({args.rows} yellow rows each), unpause to last run finished",
                    lambda: stack.api.set_paused("LocalIngestionDag", False),
                    all_months_done)
            print(f"  task states: {task_states(stack, 'LocalIngestionDag')}")
            runs = stack.api.runs("LocalIngestionDag")
            print(f"  runs: {sorted(r['state'] for r in runs)}")
        finally:
            stack.down()


if __name__ == "__main__":
    main()
