"""Soak figures for the lite stack, one Airflow major per run (prints, asserts nothing): steady work for
--minutes while every container's memory, logs/, data/, the metadata database, the taxi database and
Docker's own logs of the containers are sampled; then the slope of each per hour and where it leads in
30 days.

The work: a DAG written here (`soak`: every minute, four short tasks, one pushing an XCom and printing
log lines) and, every --load-every-minutes, one month of LocalIngestionDag (its own catch-up through
2021 taken one step at a time: unpause, wait for the month's run, pause; once 2021 is done, the oldest
month is cleared and loaded again), from generated files served inside the stack by taxi-files
(tests/stack/docker-compose.test.yaml).

Retention (the retention service, .env "Retention"): windows of 1 day each in compressed time, a day
lasting --day-minutes (benchmarks/docker-compose.soak.yaml), and a cleanup pass every
--cleanup-minutes, unless --no-retention turns them all off. Each disk figure's slope is printed before
its window has passed (what it grows by without retention) and after (with it: flat is the target),
with the 30-day projection of the latter.
The stack: a copy of the repo with its own compose project and a UI port in 18200-18299, removed at the
end (--keep leaves it up).

    .venv/bin/python benchmarks/soak_benchmark.py --version 2.11.2|3.3.2 [--minutes 60]
        [--sample-seconds 60] [--load-every-minutes 5] [--warmup-minutes 15] [--day-minutes 10]
        [--cleanup-minutes 3] [--no-retention] [--keep] [--csv samples.csv] [--processes]
    (a short trial: --minutes 12 --sample-seconds 30 --load-every-minutes 3)

Memory of a container: the cgroup's usage minus its inactive file cache (what docker stats shows), read
from the host's cgroup files (docker stats when they cannot be read); "anon" leaves all file cache out.
Its slope: least squares from --warmup-minutes on (at most half the run), next to Theil-Sen (the median
of the pairwise slopes, which a transient spike such as a cleanup pass does not move); --processes adds
the change of each process's PSS from the warm-up to the end (root).
Disk: allocated blocks (du) of the stack's logs/ and data/, pg_database_size of both databases.

Targets (2 cores), each major: memory slope under 10 MiB/hour for every container after the first
15 minutes; with retention set to minutes, disk use flat once past the window.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "tests")]
from stack.conftest import TEST_URL_TEMPLATE  # noqa: E402
from support.memory import cgroup_memory, container_memory, containers, process_memory_by_pid  # noqa: E402
from support.stack import AIRFLOW2_VERSION, AIRFLOW3_VERSION, Stack  # noqa: E402
from support.stack_taxi import psql, serve_month  # noqa: E402

SOAK_DAG = "soak"
LOAD_DAG = "LocalIngestionDag"
MONTHS = [f"2021-{m:02d}" for m in range(1, 13)]  # LocalIngestionDag's schedule: 2021
ROWS = {"yellow": 3000, "green": 1500, "fhv": 2000}  # per month, as the stack tests
TEST_SERVICES = ("taxi-files",)  # of docker-compose.test.yaml; the GCS and BigQuery fakes are not needed
PORTS = range(18200, 18300)
LOAD_TIMEOUT = 600.0
MIB, HOUR, HOURS_30_DAYS = 2**20, 3600.0, 30 * 24
MEMORY_TARGET_MIB_PER_HOUR = 10.0
WINDOWS = ("AIRFLOW_LOG_RETENTION_DAYS", "AIRFLOW_DB_RETENTION_DAYS", "AIRFLOW_DATA_RETENTION_DAYS")
OVERRIDES = ("tests/stack/docker-compose.test.yaml", "benchmarks/docker-compose.soak.yaml")
# disk figure -> the retention setting whose window bounds it (None: nothing deletes from it)
DISK = {"logs": "AIRFLOW_LOG_RETENTION_DAYS", "data": "AIRFLOW_DATA_RETENTION_DAYS",
        "metadata_db": "AIRFLOW_DB_RETENTION_DAYS", "taxi_db": None, "docker_logs": None}

SOAK_DAG_FILE = '''
"""Written by benchmarks/soak_benchmark.py: steady work, a run every minute."""
import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


@dag(dag_id="soak", schedule="* * * * *", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
     catchup=False, max_active_runs=3, tags=["benchmark"])
def soak():
    @task.bash
    def start() -> str:
        return "echo soak start; date -u"

    @task
    def produce() -> dict:
        import random

        values = [random.random() for _ in range(100)]
        for i in range(5):
            print(f"soak: value {i} is {values[i]:.6f}")
        return {"n": len(values), "total": sum(values)}  # the XCom

    @task
    def consume(summary: dict) -> float:
        print(f"soak: got {summary['n']} values, mean {summary['total'] / summary['n']:.4f}")
        return summary["total"]

    @task.bash
    def finish() -> str:
        return "echo soak done"

    first, produced = start(), produce()
    first >> produced
    consume(produced) >> finish()


soak()
'''


def free_port() -> int:
    """A free host port in PORTS (the benchmarks' range, away from the tests' random ports)."""
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def du(folder: Path) -> int:
    """Bytes allocated to the files under `folder` (du -s), files vanishing meanwhile skipped."""
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


@dataclass
class Sample:
    t: float  # seconds since the work started
    memory: dict[str, float]  # container -> bytes in use
    anon: dict[str, float]  # container -> anonymous bytes (empty without the host's cgroup files)
    disk: dict[str, float]  # DISK key -> bytes
    ids: dict[str, str]  # container -> id (a new id: the container was recreated)


class Soak:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.log_paths: dict[str, str] = {}
        self.databases = {"metadata_db": stack.setting("POSTGRES_DB"), "taxi_db": stack.setting("TAXI_DB")}

    def docker_log_bytes(self, ids: dict[str, str]) -> int:
        """Docker's json-file logs of the running containers, rotated files included (host files, root)."""
        total = 0
        for cid in ids.values():
            if cid not in self.log_paths:
                self.log_paths[cid] = self.stack.inspect(cid, "{{.LogPath}}")
            path = Path(self.log_paths[cid])
            for f in path.parent.glob(path.name + "*") if path.name else ():
                try:
                    total += f.stat().st_blocks * 512
                except (FileNotFoundError, PermissionError):
                    pass
        return total

    def sample(self, t: float) -> Sample:
        ids = containers(self.stack)
        memory, anon = {}, {}
        for name, cid in ids.items():
            read = cgroup_memory(cid)
            if read:
                memory[name], anon[name] = read
        if len(memory) < len(ids):  # no cgroup files here (or a container restarting): docker stats
            try:
                memory = {**container_memory(self.stack), **memory}
            except subprocess.CalledProcessError:
                pass
        names = ", ".join(f"'{db}'" for db in self.databases.values())
        out = psql(self.stack, f"SELECT datname, pg_database_size(datname) FROM pg_database "
                               f"WHERE datname IN ({names})", db=self.databases["metadata_db"])
        sizes = dict(line.split("|") for line in out.splitlines())
        disk = {"logs": du(self.stack.dir / "logs"), "data": du(self.stack.dir / "data"),
                **{key: float(sizes.get(db, 0)) for key, db in self.databases.items()},
                "docker_logs": self.docker_log_bytes(ids)}
        return Sample(t, memory, anon, disk, ids)


@dataclass
class Loads:
    """LocalIngestionDag one month at a time: its catch-up through 2021 (max_active_runs=1) advanced by
    unpausing it until a run ends, then pausing it; with every month loaded, the oldest run still in
    the metadata database (retention deletes old ones; `airflow db clean` keeps a DAG's latest) is
    cleared."""

    stack: Stack
    done: list[tuple[str, str, float]] = field(default_factory=list)  # (month, state, seconds)
    started: float | None = None
    unpaused_at: float = 0.0  # wall clock (time.time()) of the unpause
    before: dict[str, str | None] = field(default_factory=dict)  # run id -> end_date at the start

    def _runs(self) -> list[dict]:
        return self.stack.api.runs(LOAD_DAG)

    @staticmethod
    def _month(run: dict) -> str:
        return (run.get("logical_date") or run.get("execution_date") or "?")[:7]

    def busy(self) -> bool:
        return self.started is not None

    def start(self) -> None:
        runs = self._runs()
        self.before = {r["dag_run_id"]: r.get("end_date") for r in runs}
        pending = [r for r in runs if r["state"] in {"queued", "running"}]
        loaded = {self._month(r) for r in runs} | {m for m, state, _ in self.done if state == "success"}
        if not pending and runs and loaded >= set(MONTHS):
            oldest = min(runs, key=lambda r: r.get("end_date") or "")
            self.stack.api.clear_run(LOAD_DAG, oldest["dag_run_id"])
            self.before[oldest["dag_run_id"]] = "cleared"
        self.stack.api.set_paused(LOAD_DAG, False)
        self.started, self.unpaused_at = time.monotonic(), time.time()

    def poll(self) -> str | None:
        """When the step's run has ended: pause the DAG, record it, return a line about it."""
        seconds = time.monotonic() - self.started
        ended = [r for r in self._runs() if r["state"] in {"success", "failed"}
                 and self.before.get(r["dag_run_id"], "new") != r.get("end_date")]
        if not ended and seconds < LOAD_TIMEOUT:
            return None
        self.stack.api.set_paused(LOAD_DAG, True)
        self.started = None
        for run in ended or [{"state": "timeout"}]:
            end = run.get("end_date")
            # from the unpause: a run the scheduler created in the previous step waited, paused, since
            took = datetime.fromisoformat(end).timestamp() - self.unpaused_at if end else seconds
            self.done.append((self._month(run), run["state"], took))
        return (", ".join(f"{self._month(r)} {r['state']}" for r in ended)
                or f"no run ended in {seconds:.0f} s")


def states(stack: Stack, table: str, dag_ids: tuple[str, ...]) -> str:
    """'success 12, running 1' for the rows of `table` (dag_run, task_instance) of these DAGs."""
    names = ", ".join(f"'{d}'" for d in dag_ids)
    out = psql(stack, f"SELECT coalesce(state, 'none'), count(*) FROM {table} WHERE dag_id IN ({names}) "
                      "GROUP BY 1 ORDER BY 2 DESC", db=stack.setting("POSTGRES_DB"))
    return ", ".join(line.replace("|", " ") for line in out.splitlines())


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares line through (t, y): (y at t=0, slope per unit of t); (y, 0) for one point."""
    if len(points) < 2:
        return (points[0][1] if points else float("nan")), 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    slope = sum((t - mt) * (y - my) for t, y in points) / var if var else 0.0
    return my - slope * mt, slope


def robust_slope(points: list[tuple[float, float]]) -> float:
    """Theil-Sen: the median of the slopes between every two points; a few transient spikes (a cleanup
    pass or a task running at the moment of a sample) do not move it, unlike least squares."""
    slopes = [(y2 - y1) / (t2 - t1) for i, (t1, y1) in enumerate(points) for t2, y2 in points[i + 1:]
              if t2 != t1]
    return statistics.median(slopes) if slopes else 0.0


def at(samples: list[Sample], t: float) -> Sample:
    return min(samples, key=lambda s: abs(s.t - t))


def print_table(samples: list[Sample], names: list[str], every: float = 600) -> None:
    shown = [s for i, s in enumerate(samples)
             if i == 0 or i == len(samples) - 1 or int(s.t // every) > int(samples[i - 1].t // every)]
    short = [n.removesuffix("-1") for n in names]
    print("\nSamples (memory in use and disk, MiB; every ~10 minutes):")
    print(f"{'min':>6}" + "".join(f"{n[:12]:>13}" for n in short)
          + "".join(f"{k:>13}" for k in DISK))
    for s in shown:
        print(f"{s.t / 60:6.1f}" + "".join(f"{s.memory[n] / MIB:13.1f}" if n in s.memory else f"{'-':>13}"
                                          for n in names)
              + "".join(f"{s.disk[k] / MIB:13.2f}" for k in DISK))


def print_memory(samples: list[Sample], names: list[str], warmup: float) -> None:
    after = [s for s in samples if s.t >= warmup]
    print(f"\nMemory per container (MiB): at minute {at(samples, warmup).t / 60:.0f} and at the end; "
          f"least-squares slope per hour from minute {warmup / 60:.0f} "
          f"({len(after)} samples); target < {MEMORY_TARGET_MIB_PER_HOUR:.0f} MiB/hour")
    with_anon = any(s.anon for s in samples)
    print(f"{'container':<16}{'at warmup':>11}{'end':>9}{'slope/h':>10}{'Theil-Sen/h':>13}"
          + (f"{'anon slope/h':>14}" if with_anon else "") + "  target (least squares)")
    for name in names:
        points = [(s.t / HOUR, s.memory[name] / MIB) for s in after if name in s.memory]
        anon = [(s.t / HOUR, s.anon[name] / MIB) for s in after if name in s.anon]
        if not points:
            print(f"{name:<16}  (no samples after the warm-up)")
            continue
        slope = fit(points)[1]
        first, last = at(samples, warmup).memory.get(name), samples[-1].memory.get(name)
        cells = (f"{first / MIB:11.1f}" if first is not None else f"{'-':>11}",
                 f"{last / MIB:9.1f}" if last is not None else f"{'-':>9}", f"{slope:+10.1f}",
                 f"{robust_slope(points):+13.1f}")
        verdict = "ok" if slope < MEMORY_TARGET_MIB_PER_HOUR else "OVER"
        if verdict == "OVER" and robust_slope(points) < MEMORY_TARGET_MIB_PER_HOUR:
            verdict += " (Theil-Sen ok: spikes?)"
        print(f"{name:<16}{''.join(cells)}" + (f"{fit(anon)[1]:+14.1f}" if with_anon and anon else "")
              + f"  {verdict}")
    total = [(s.t / HOUR, sum(s.memory.values()) / MIB) for s in after]
    if total:
        print(f"{'total':<16}{sum(at(samples, warmup).memory.values()) / MIB:11.1f}"
              f"{sum(samples[-1].memory.values()) / MIB:9.1f}{fit(total)[1]:+10.1f}")
    recreated = sorted({n for prev, s in zip(samples, samples[1:], strict=False) for n in s.ids
                        if n in prev.ids and prev.ids[n] != s.ids[n]})
    if recreated:
        print(f"  recreated during the run (memory restarts from scratch): {', '.join(recreated)}")
    if any(n.startswith("postgres") for n in names):
        print("  postgres: its shared buffers (shmem) count as in use, not as anon, and fill up to "
              "shared_buffers (128 MiB by default): a rise bounded by that")


def print_disk(samples: list[Sample], window_minutes: dict[str, float], pass_minutes: float) -> None:
    """Each disk figure's slope before its retention window has passed (its growth without retention)
    and after it, once two cleanup passes more have run (with retention: flat is the target)."""
    print(f"\nDisk (MiB): least-squares slope per hour before the retention window has passed (growth "
          f"without retention) and after it and two passes ({2 * pass_minutes:.0f} min), with the "
          "30-day projection of the latter")
    print(f"{'':<13}{'start':>9}{'window':>9}{'at flat':>9}{'end':>9}{'before/h':>10}{'after/h':>10}"
          f"{'30 d':>9}")
    for key, setting in DISK.items():
        points = [(s.t / HOUR, s.disk[key] / MIB) for s in samples]
        window = window_minutes.get(setting) if setting else None
        flat_from = (window + 2 * pass_minutes) / 60 if window else 0.0
        before = [p for p in points if window and p[0] <= window / 60]
        after = [p for p in points if p[0] >= flat_from]
        label = f"{window:.0f} min" if window else ("off" if setting else "none")
        start_after, slope_after = fit(after) if len(after) > 1 else (float("nan"), float("nan"))
        print(f"{key:<13}{points[0][1]:9.2f}{label:>9}"
              + (f"{at(samples, flat_from * HOUR).disk[key] / MIB:9.2f}" if window else f"{'-':>9}")
              + f"{points[-1][1]:9.2f}"
              + (f"{fit(before)[1]:+10.2f}" if len(before) > 1 else f"{'-':>10}")
              + f"{slope_after:+10.2f}{start_after + slope_after * HOURS_30_DAYS:9.1f}")
    print("  taxi_db grows with new months only (12 in 2021, then the same ones reloaded); docker_logs "
          "(the containers' output) is capped by Docker's json-file rotation (max-size x max-file)")


def print_processes(before: dict, after: dict, limit: int = 12) -> None:
    """Per-process PSS change between the two snapshots (container -> {pid: (bytes, cmd)}): processes
    alive at both, matched by pid, largest changes first; then those that ended and those that began."""
    print("\nPSS change per process from the warm-up to the end (MiB, processes matched by pid):")
    changes, ended, began = [], {}, {}
    for container in sorted(set(before) | set(after)):
        b, a = before.get(container, {}), after.get(container, {})
        changes += [(a[pid][0] - b[pid][0], container, pid, a[pid][1]) for pid in set(a) & set(b)]
        gone, new = [b[pid][0] for pid in set(b) - set(a)], [a[pid][0] for pid in set(a) - set(b)]
        if gone:
            ended[container] = (len(gone), sum(gone))
        if new:
            began[container] = (len(new), sum(new))
    for delta, container, pid, cmd in sorted(changes, key=lambda c: -abs(c[0]))[:limit]:
        print(f"  {delta / MIB:+7.1f}  {container:<14} {pid:>8}  {cmd}")
    for label, group in (("ended", ended), ("began", began)):
        for container, (n, size) in group.items():
            print(f"  {label}: {container} {n} processes, {size / MIB:.1f} MiB")


def write_csv(path: Path, samples: list[Sample], names: list[str]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["seconds", *(f"mem_{n}" for n in names), *(f"anon_{n}" for n in names), *DISK])
        for s in samples:
            out.writerow([f"{s.t:.0f}", *(s.memory.get(n, "") for n in names),
                          *(s.anon.get(n, "") for n in names), *(s.disk[k] for k in DISK)])


def soak(args: argparse.Namespace, workdir: Path) -> None:
    if args.no_retention:
        windows = {**{k: "off" for k in WINDOWS}, "AIRFLOW_CLEANUP_INTERVAL_MINUTES": "360"}
    else:
        windows = {**{k: "1" for k in WINDOWS}, "AIRFLOW_CLEANUP_INTERVAL_MINUTES": str(args.cleanup_minutes),
                   "SOAK_RETENTION_DAY_MINUTES": str(args.day_minutes)}
    stack = Stack(workdir, override_files=OVERRIDES, port=free_port(),
                  env={"AIRFLOW_VERSION": args.version, "TAXI_URL_TEMPLATE": TEST_URL_TEMPLATE, **windows})
    (stack.dir / "test-files").mkdir()
    for i, month in enumerate(MONTHS):
        serve_month(stack, month, ROWS, seed=i)
    (stack.dir / "dags" / "soak.py").write_text(SOAK_DAG_FILE)
    project_services = subprocess.run(
        [*stack.compose_cmd, "-f", "docker-compose.yaml", "config", "--services"],
        cwd=stack.dir, env=stack.env, capture_output=True, text=True, check=True).stdout.split()
    services = [*project_services, *TEST_SERVICES]
    has_retention = "retention" in services
    print(f"Airflow {args.version}, project {stack.project}, port {stack.port}, copy {stack.dir}")
    print(f"services: {' '.join(services)}")
    print("retention: " + ", ".join(f"{k}={v}" for k, v in windows.items())
          + ("" if has_retention else "  (no retention service in this checkout: no effect)"))
    print(f"work: DAG {SOAK_DAG} every minute (4 tasks), a {LOAD_DAG} month every "
          f"{args.load_every_minutes} min; sample every {args.sample_seconds} s for {args.minutes} min",
          flush=True)
    try:
        stack.compose("build", *[s for s in services if s not in {"postgres", *TEST_SERVICES}], timeout=1800)
        t_up = time.monotonic()
        stack.compose("up", "-d", *services)
        stack.wait_healthy(timeout=400)
        print(f"up -d to all healthy: {time.monotonic() - t_up:.0f} s", flush=True)
        stack.wait_for_dag(SOAK_DAG, timeout=300)
        stack.wait_for_dag(LOAD_DAG, timeout=300)
        stack.api.set_paused(SOAK_DAG, False)
        run(args, stack, windows, services)
    finally:
        if args.keep:
            print(f"\n--keep: the stack is still up. Remove it with:\n  cd {stack.dir} && "
                  f"COMPOSE_PROJECT_NAME={stack.project} docker compose "
                  + " ".join(f"-f {f}" for f in stack.files) + " down -v")
        else:
            stack.down()


def run(args: argparse.Namespace, stack: Stack, windows: dict[str, str], services: list[str]) -> None:
    sampler, loads = Soak(stack), Loads(stack)
    duration, step, every = args.minutes * 60.0, args.sample_seconds, args.load_every_minutes * 60.0
    warmup = min(args.warmup_minutes * 60.0, duration / 2)
    samples: list[Sample] = []
    snapshots: dict[str, dict] = {}
    t0 = time.monotonic()
    next_sample, next_load = 0.0, 0.0
    while True:
        now = time.monotonic() - t0
        if now > duration + 10 * step:  # sampling kept failing past the end
            break
        try:
            if loads.busy():
                line = loads.poll()
                if line:
                    print(f"[{now / 60:5.1f} min] load: {line}", flush=True)
            elif now >= next_load and now < duration:
                loads.start()
                next_load += every
            if now >= next_sample:
                next_sample += step
                s = sampler.sample(now)
                samples.append(s)
                print(f"[{now / 60:5.1f} min] memory {sum(s.memory.values()) / MIB:.0f} MiB, "
                      + ", ".join(f"{k} {v / MIB:.1f}" for k, v in s.disk.items()) + " MiB", flush=True)
                if args.processes and not snapshots.get("warmup") and now >= warmup:
                    snapshots["warmup"] = process_memory_by_pid(stack)
                if now >= duration:
                    break
            time.sleep(max(0.0, min(2.0, next_sample - (time.monotonic() - t0))))
        except KeyboardInterrupt:
            print(f"[{now / 60:5.1f} min] interrupted: the figures so far", flush=True)
            break
        except Exception as e:  # one failed step (a container restarting) does not end an hour's soak
            print(f"[{now / 60:5.1f} min] failed, going on: {type(e).__name__}: {str(e)[:300]}", flush=True)
            time.sleep(2)
    if not samples:
        return
    if args.processes and snapshots.get("warmup"):
        snapshots["end"] = process_memory_by_pid(stack)
    names = sorted({n for s in samples for n in s.memory})
    print(f"\nAirflow {args.version}, {samples[-1].t / 60:.0f} min of work, {len(samples)} samples")
    print(f"{SOAK_DAG} runs: {states(stack, 'dag_run', (SOAK_DAG,))}; task instances of both DAGs: "
          f"{states(stack, 'task_instance', (SOAK_DAG, LOAD_DAG))}")
    print(f"{LOAD_DAG} months (unpause to the run's end): "
          + ", ".join(f"{m} {st} {sec:.0f} s" for m, st, sec in loads.done))
    restarts = {n: stack.inspect(cid, "{{.RestartCount}}") for n, cid in samples[-1].ids.items()}
    if any(r != "0" for r in restarts.values()):
        print(f"container restarts: {restarts}")
    print("retention windows: " + ", ".join(f"{k}={v}" for k, v in windows.items())
          + ("" if "retention" in services else " (no retention service: no effect)"))
    print_table(samples, names)
    print_memory(samples, names, warmup)
    minutes = {k: float(windows[k]) * args.day_minutes for k in WINDOWS
               if "retention" in services and windows[k] != "off"}
    print_disk(samples, minutes, args.cleanup_minutes)
    if args.processes and snapshots.get("warmup"):
        print_processes(snapshots["warmup"], snapshots["end"])
    if "retention" in services:
        lines = [line for line in stack.logs("retention").splitlines() if "retention" in line]
        print("\nretention service, last lines:\n  " + "\n  ".join(lines[-8:]))
    if args.csv:
        write_csv(args.csv, samples, names)
        print(f"\nsamples written to {args.csv}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=[AIRFLOW2_VERSION, AIRFLOW3_VERSION], default=AIRFLOW2_VERSION,
                        help="the Airflow major of this run (one per run)")
    parser.add_argument("--minutes", type=float, default=60, help="minutes of steady work")
    parser.add_argument("--sample-seconds", type=float, default=60)
    parser.add_argument("--load-every-minutes", type=float, default=5)
    parser.add_argument("--warmup-minutes", type=float, default=15,
                        help="memory slopes start here (at most half the run)")
    parser.add_argument("--day-minutes", type=int, default=10,
                        help="compressed time: how many minutes a retention window's day lasts")
    parser.add_argument("--cleanup-minutes", type=int, default=3, help="minutes between cleanup passes")
    parser.add_argument("--no-retention", action="store_true", help="every retention window off")
    parser.add_argument("--keep", action="store_true", help="leave the stack up (prints how to remove it)")
    parser.add_argument("--csv", type=Path, help="write every sample to this CSV file")
    parser.add_argument("--processes", action="store_true",
                        help="also the PSS change per process from the warm-up to the end (root)")
    args = parser.parse_args()
    if args.keep:
        soak(args, Path(tempfile.mkdtemp(prefix="soak-")))
    else:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            soak(args, Path(tmp))


if __name__ == "__main__":
    main()
