"""Figures for the lite stack (prints, asserts nothing): up -d to healthy, trigger to success of the
example DAG (median of 5), idle memory per container and in total, image size over the base image.

    .venv/bin/python benchmarks/stack_benchmark.py

Targets on a 2-core machine: healthy within 45 s, trigger to success 4 s median or less, the idle
stack 1.0 GiB or less, the image 50 MB or less over apache/airflow.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.stack import Stack  # noqa: E402

EXAMPLE = "LocalIngestionDagv2"
UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def to_bytes(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.strip()).groups()
    return float(number) * UNITS[unit]


def image_size(image: str) -> int:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def idle_memory(stack: Stack) -> dict[str, float]:
    ids = stack.container_ids()
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", *ids],
                         capture_output=True, text=True, check=True).stdout
    usage = {}
    for line in out.splitlines():
        name, mem = line.split("\t")
        usage[name] = to_bytes(mem.split("/")[0])
    return usage


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        stack.build()
        base, ours = stack.base_image, stack.image
        try:
            healthy = stack.up()
            stack.wait_for_dag(EXAMPLE)
            durations = []
            for _ in range(5):
                t0 = time.monotonic()
                run_id = stack.trigger(EXAMPLE)
                state = stack.wait_for_run(EXAMPLE, run_id, timeout=120)
                durations.append(time.monotonic() - t0)
                assert state == "success", state
            time.sleep(30)  # let the runs' processes finish and the stack settle to idle
            memory = idle_memory(stack)
        finally:
            stack.down()

    print(f"up -d to all healthy:        {healthy:6.1f} s   (target <= 45 s)")
    print(f"trigger to success, median:  {statistics.median(durations):6.1f} s   (target <= 4 s; "
          f"runs: {', '.join(f'{d:.1f}' for d in durations)})")
    print("idle memory (docker stats --no-stream):")
    for name, used in sorted(memory.items()):
        print(f"  {name:40s} {used / 2**20:7.1f} MiB")
    total = sum(memory.values())
    print(f"  {'total':40s} {total / 2**20:7.1f} MiB   (target <= 1024 MiB)")
    extra = image_size(ours) - image_size(base)
    print(f"image {ours} over {base}: {extra / 1e6:.1f} MB   (target <= 50 MB)")


if __name__ == "__main__":
    main()
