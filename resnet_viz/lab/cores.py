"""The cores this process may use: its CPU affinity and its cgroup's CPU quota, not the host's core count.

``os.cpu_count()`` counts the host: a pod given 2 CPUs on a 64-core node would size itself for 64. This is the
rule of ``dask.system.cpu_count`` (the smaller of the affinity mask and the quota rounded up), as a function whose
inputs a test can replace, since Dask computes its ``CPU_COUNT`` once at import.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Final

__all__ = ["CGROUP_ROOT", "PROC_CGROUP", "cgroup_quota", "usable_cores"]

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
PROC_CGROUP: Final = Path("/proc/self/cgroup")
# cgroup v1 mounts the CPU controller under one of these names, depending on the distribution
_V1_DIRS: Final = ("cpu,cpuacct", "cpuacct,cpu", "cpu")


def _ints(path: Path) -> list[int]:
    """The file's whitespace-separated integers; [] when it is missing, unreadable or says "max"."""
    try:
        return [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []


def _own_group(proc_cgroup: Path) -> str:
    """This process's cgroup v2 path ("0::/kubepods/…" -> "kubepods/…"), or "" (the root, as in a container)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return ""
    return next((line[3:].strip("/") for line in lines if line.startswith("0::")), "")


def cgroup_quota(root: Path | None = None, proc_cgroup: Path | None = None) -> float | None:
    """The cgroup's CPU quota in cores ("150000 100000" in cpu.max: 1.5), or None when there is none.

    ``root`` and ``proc_cgroup`` default to the module's ``CGROUP_ROOT`` and ``PROC_CGROUP``, read at call time.
    """
    root = root or CGROUP_ROOT
    found: list[float] = []
    group = _own_group(proc_cgroup or PROC_CGROUP)
    for cpu_max in {root / group / "cpu.max", root / "cpu.max"}:  # cgroup v2; "max 100000" is no limit
        v2 = _ints(cpu_max)
        if len(v2) == 2 and v2[0] > 0 and v2[1] > 0:
            found.append(v2[0] / v2[1])
    for name in _V1_DIRS:  # cgroup v1; a quota of -1 is no limit
        quota, period = _ints(root / name / "cpu.cfs_quota_us"), _ints(root / name / "cpu.cfs_period_us")
        if quota and period and quota[0] > 0 and period[0] > 0:
            found.append(quota[0] / period[0])
    return min(found) if found else None


def usable_cores(*, root: Path | None = None, proc_cgroup: Path | None = None) -> int:
    """The cores this process may use: its affinity mask's size, capped by the cgroup quota rounded up (at least 1)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; macOS and Windows have no affinity call in os
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    quota = cgroup_quota(root, proc_cgroup)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)
