"""Figures for the whole lite stack (triggerer included) on both Airflow majors, side by side (prints,
asserts nothing): up -d to healthy, trigger to success of the example DAG (median of 5), new-DAG pickup
(median of 3), idle memory per container fresh and after use (60 s after 20 runs of the example DAG),
idle CPU, image size over the official image; with --processes, where the memory after use goes, per
process (proportional set size, shared pages split between the processes sharing them). One stack at a
time, the same machine, the same run. With --baseline REF, the repo as it was at REF (a commit, a tag)
is measured in the same run, each major's baseline just before the current stack, and the current
figures are also printed as ratios of the baseline's.

    .venv/bin/python benchmarks/stack_benchmark.py [--versions 2.11.2 3.3.2] [--processes] [--baseline REF]

Targets (2 cores), both majors: idle after use <= 1.0 GiB (stretch 900 MiB), trigger to success <= 1.5 s,
idle CPU no higher than before the triggerer (~13 % of one core: `--baseline 3bbf987`, the stack when
that target was set); new DAG listed <= 15 s.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.memory import cgroup_cpu_seconds, container_memory, containers, process_memory  # noqa: E402
from support.stack import AIRFLOW2_VERSION, AIRFLOW3_VERSION, REPO, Stack  # noqa: E402

EXAMPLE = "LocalIngestionDagv2"
NEW_DAG = '''
import pendulum
from airflow import DAG

with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    pass
'''


def image_size(image: str) -> int:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


IDLE_CPU_SECONDS = 60


def idle_cpu(stack: Stack) -> dict[str, float]:
    """Container name without the project prefix -> mean CPU in % of one core over a whole minute: the
    CPU time its cgroup used (healthchecks included) in IDLE_CPU_SECONDS, which spans two DAG-parse cycles
    and a dozen healthchecks. Where the host's cgroups cannot be read, `docker stats` readings instead
    (each over about a second: they move by several points from one run to the next)."""
    ids = containers(stack)
    before = {name: cgroup_cpu_seconds(cid) for name, cid in ids.items()}
    if None not in before.values():
        t0 = time.monotonic()
        time.sleep(IDLE_CPU_SECONDS)
        after = {name: cgroup_cpu_seconds(cid) for name, cid in ids.items()}
        elapsed = time.monotonic() - t0
        return {name: 100 * (after[name] - before[name]) / elapsed for name in ids}
    readings: dict[str, list[float]] = {}
    for _ in range(IDLE_CPU_SECONDS // 2):
        out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.CPUPerc}}",
                              *ids.values()], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            name, cpu = line.split("\t")
            readings.setdefault(name.removeprefix(f"{stack.project}-"), []).append(float(cpu.rstrip("%")))
    return {name: statistics.mean(values) for name, values in readings.items()}


USE_RUNS = 20


def measure(version: str, with_processes: bool, source: Path = REPO) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), env={"AIRFLOW_VERSION": version}, source=source)
        stack.build()
        figures = {"image": stack.image, "extra": image_size(stack.image) - image_size(stack.base_image)}
        try:
            figures["healthy"] = stack.up(timeout=300)
            stack.wait_for_dag(EXAMPLE, timeout=120)
            time.sleep(30)  # the stack settles after start
            figures["fresh"] = container_memory(stack)
            durations, server_side = [], []
            stack.api.set_paused(EXAMPLE, False)  # once: ▶ creates a run, unpausing is another action
            for _ in range(5):
                t0, wall0 = time.monotonic(), time.time()
                run_id = stack.api.create_run(EXAMPLE)
                state = stack.wait_for_run(EXAMPLE, run_id, timeout=120, poll=0.05)
                durations.append(time.monotonic() - t0)
                assert state == "success", state
                # the same, ended by the run's own end_date: without the polling client's latency
                end = datetime.fromisoformat(stack.api.run(EXAMPLE, run_id)["end_date"])
                server_side.append(end.timestamp() - wall0)
            figures["runs"], figures["runs_server"] = durations, server_side
            figures["pickups"] = []
            interval = float(stack.setting("AIRFLOW_DAG_DIR_LIST_INTERVAL"))
            for n in range(3):
                # files arrive at any moment of the scan cycle, not just after a scan
                time.sleep(random.uniform(0, interval))
                dag_file = stack.dir / "dags" / f"benchmark_pickup_{n}.py"
                dag_file.write_text(NEW_DAG.format(dag_id=f"pickup_{n}"))
                t0 = time.monotonic()
                stack.wait_for_dag(f"pickup_{n}", timeout=120)
                figures["pickups"].append(time.monotonic() - t0)
            for _ in range(USE_RUNS - len(durations)):  # 20 runs in all, then idle
                assert stack.wait_for_run(EXAMPLE, stack.trigger(EXAMPLE), timeout=120) == "success"
            time.sleep(60)
            figures["memory"] = container_memory(stack)
            figures["processes"] = process_memory(stack) if with_processes else {}
            figures["cpu"] = idle_cpu(stack)
        finally:
            stack.down()
    return figures


def checkout(ref: str, dest: Path) -> Path:
    """The repo's files as committed at `ref`, in dest (git archive: no worktree left behind)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=[AIRFLOW2_VERSION, AIRFLOW3_VERSION])
    parser.add_argument("--processes", action="store_true", help="memory after use per process (as root)")
    parser.add_argument("--baseline", metavar="REF", help="also measure the repo as it was at this commit")
    args = parser.parse_args()
    columns = []  # (heading, figures)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = checkout(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        for version in args.versions:
            if baseline:
                columns.append((f"{version} @{args.baseline}", measure(version, args.processes, baseline)))
            columns.append((version, measure(version, args.processes)))

    def row(label: str, cell) -> None:
        print(f"{label:38s}" + "".join(f"{cell(figures):>22s}" for _, figures in columns))

    print(f"{'':38s}" + "".join(f"{heading:>22s}" for heading, _ in columns))
    row("Airflow", lambda r: r["image"].split(":")[1])
    row("up -d to all healthy", lambda r: f"{r['healthy']:.1f} s")
    row("trigger to success, median of 5", lambda r: f"{statistics.median(r['runs']):.2f} s")
    row("  (the 5 runs)", lambda r: " ".join(f"{d:.1f}" for d in r["runs"]))
    row("  ... to the run's end_date, median", lambda r: f"{statistics.median(r['runs_server']):.2f} s")
    row("new DAG file listed, median of 3", lambda r: f"{statistics.median(r['pickups']):.1f} s")
    row("  (the 3 files)", lambda r: " ".join(f"{d:.1f}" for d in r["pickups"]))
    names = sorted({name for _, r in columns for name in r["memory"]})

    def mib(usage: dict, name: str) -> str:
        return f"{usage[name] / 2**20:.0f} MiB" if name in usage else "-"

    for key, label in (("fresh", "fresh"), ("memory", f"after {USE_RUNS} runs")):
        for name in names:
            row(f"idle memory {label}: {name}", lambda r, n=name, k=key: mib(r[k], n))
        row(f"idle memory {label}: total", lambda r, k=key: f"{sum(r[k].values()) / 2**20:.0f} MiB")
    for name in names:
        row(f"idle CPU {name}", lambda r, n=name: f"{r['cpu'][n]:.1f} %" if n in r["cpu"] else "-")
    row("idle CPU total (% of one core)", lambda r: f"{sum(r['cpu'].values()):.1f} %")
    row("image over apache/airflow", lambda r: f"{r['extra'] / 1e6:.1f} MB")
    if args.baseline:
        print(f"\ncurrent / baseline @{args.baseline} (same run)")
        for version in args.versions:
            base, now = (figures for heading, figures in columns if heading.split()[0] == version)
            ratios = {"idle CPU": (sum(now["cpu"].values()), sum(base["cpu"].values())),
                      "trigger to success": (statistics.median(now["runs"]), statistics.median(base["runs"])),
                      "idle memory after use": (sum(now["memory"].values()), sum(base["memory"].values()))}
            print(f"  {version}: " + ", ".join(f"{what} {a / b:.2f}" for what, (a, b) in ratios.items()))
    for heading, figures in columns:
        for container, rows in figures["processes"].items():
            print(f"\n{heading} {container}: {sum(b for b, _ in rows) / 2**20:.0f} MiB PSS after use")
            for size, cmd in rows:
                if size >= 2**20:
                    print(f"  {size / 2**20:6.1f} MiB  {cmd}")


if __name__ == "__main__":
    main()
