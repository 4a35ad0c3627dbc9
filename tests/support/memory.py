"""Memory of a running Stack's containers, for the benchmarks: per container (docker stats, or the same
figure read from the container's cgroup) and per process (proportional set size, from the host's /proc);
and the CPU time a container has used (its cgroup), for idle-CPU figures over a whole minute.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.stack import Stack

UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def to_bytes(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.strip()).groups()
    return float(number) * UNITS[unit]


def container_memory(stack: Stack) -> dict[str, float]:
    """Container name without the project prefix ("webserver-1") -> bytes in use (docker stats MEM USAGE:
    the cgroup's usage minus its inactive file cache)."""
    ids = stack.container_ids()
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", *ids],
                         capture_output=True, text=True, check=True).stdout
    usage = {}
    for line in out.splitlines():
        name, mem = line.split("\t")
        usage[name.removeprefix(f"{stack.project}-")] = to_bytes(mem.split("/")[0])
    return usage


def containers(stack: Stack) -> dict[str, str]:
    """Running container name without the project prefix -> full container id (one `docker ps`)."""
    out = subprocess.run(["docker", "ps", "--no-trunc", "--format", "{{.Names}}\t{{.ID}}",
                          "--filter", f"label=com.docker.compose.project={stack.project}"],
                         capture_output=True, text=True, check=True).stdout
    return {name.removeprefix(f"{stack.project}-"): cid
            for name, cid in (line.split("\t") for line in out.splitlines())}


# Where a container's memory cgroup is on this host: cgroup v1 (cgroupfs or systemd driver), then v2.
_CGROUP_DIRS = ("/sys/fs/cgroup/memory/docker/{id}", "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope",
                "/sys/fs/cgroup/system.slice/docker-{id}.scope", "/sys/fs/cgroup/docker/{id}")


def cgroup_memory(container_id: str) -> tuple[float, float] | None:
    """(in use, anonymous) bytes of one container from its memory cgroup on this host, or None when the
    host's cgroups cannot be read here. "In use" is what docker stats shows (usage minus inactive file
    cache: the page cache of files the container touched recently still counts); "anonymous" leaves
    every file page out (heaps and stacks of its processes, tmpfs excluded)."""
    for pattern in _CGROUP_DIRS:
        folder = Path(pattern.format(id=container_id))
        try:
            stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
            if (folder / "memory.usage_in_bytes").exists():  # v1
                usage = int((folder / "memory.usage_in_bytes").read_text())
                return usage - int(stat["total_inactive_file"]), float(stat["total_rss"])
            usage = int((folder / "memory.current").read_text())  # v2
            return usage - int(stat["inactive_file"]), float(stat["anon"])
        except (OSError, KeyError, ValueError):
            continue
    return None


# Where a container's CPU-accounting cgroup is: cgroup v1 (cgroupfs or systemd driver), then v2.
_CPU_CGROUP_DIRS = ("/sys/fs/cgroup/cpuacct/docker/{id}", "/sys/fs/cgroup/cpu,cpuacct/docker/{id}",
                    "/sys/fs/cgroup/cpuacct/system.slice/docker-{id}.scope",
                    "/sys/fs/cgroup/system.slice/docker-{id}.scope", "/sys/fs/cgroup/docker/{id}")


def cgroup_cpu_seconds(container_id: str) -> float | None:
    """CPU time (user + system, seconds) used so far by every process that ever ran in the container,
    healthchecks and `docker exec`s included; None when the host's cgroups cannot be read here."""
    for pattern in _CPU_CGROUP_DIRS:
        folder = Path(pattern.format(id=container_id))
        try:
            if (folder / "cpuacct.usage").exists():  # v1: nanoseconds
                return int((folder / "cpuacct.usage").read_text()) / 1e9
            stat = dict(line.split() for line in (folder / "cpu.stat").read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6  # v2
        except (OSError, KeyError, ValueError):
            continue
    return None


def process_memory_by_pid(stack: Stack) -> dict[str, dict[int, tuple[float, str]]]:
    """Container name -> {host pid: (bytes, command line)} of its processes: the proportional set size
    (shared pages split among the processes sharing them) from /proc/PID/smaps_rollup on this host.
    Needs root: Airflow 3 makes its task supervisors (the LocalExecutor's workers) non-dumpable, so not
    even their own user may read their memory maps."""
    usage = {}
    for cid in stack.container_ids():
        name = stack.inspect(cid, "{{.Name}}").lstrip("/").removeprefix(f"{stack.project}-")
        pids = subprocess.run(["docker", "top", cid, "-eo", "pid"], capture_output=True, text=True,
                              check=True).stdout.split()[1:]
        rows = {}
        for pid in pids:
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:90]
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended meanwhile (between `docker top` and here)
            pss_kb = int(re.search(r"^Pss:\s+(\d+)", rollup, re.M)[1])
            rows[int(pid)] = (pss_kb * 1024.0, cmd)
        usage[name] = rows
    return usage


def process_memory(stack: Stack) -> dict[str, list[tuple[float, str]]]:
    """Container name -> [(bytes, command line)] of its processes, largest first (process_memory_by_pid)."""
    return {name: sorted(rows.values(), reverse=True) for name, rows in process_memory_by_pid(stack).items()}
