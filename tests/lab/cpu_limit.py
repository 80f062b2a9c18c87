"""Hold one process to a share of one core (a CPU cgroup), as a loaded machine would, but
deterministically: the quota is the same on every run, whatever else the machine is doing.

    with cpu_limited(proc.pid, percent=4):   # at most 4 ms of CPU in every 100 ms
        ...

cgroup v2 (`cpu.max`) where the unified hierarchy has the cpu controller, else cgroup v1's cpu
controller (`cpu.cfs_quota_us`). Root only. Leaving the block moves the process back and removes
the group, even on an exception; `cpu_limit_available()` says whether either can work here.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000
_names = itertools.count()


def _v2() -> bool:
    controllers = V2_ROOT / "cgroup.controllers"
    return controllers.exists() and "cpu" in controllers.read_text().split()


def throttled_periods(group: Path) -> int:
    """How many periods the quota held the group back in so far (cpu.stat, v1 and v2 alike)."""
    stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return int(stat["nr_throttled"])


def cpu_limit_available() -> bool:
    if os.geteuid() != 0:
        return False
    return _v2() or (V1_ROOT / "cpu.cfs_quota_us").exists()


@contextmanager
def cpu_limited(pid: int, percent: float) -> Iterator[Path]:
    """`pid` (all its threads) gets at most `percent` of one core while the block runs; yields
    the group's directory (its cpu.stat says how often the quota bit)."""
    quota = max(int(PERIOD_US * percent / 100), 1000)  # the kernel's minimum is 1 ms
    name = f"tandem-lab-{os.getpid()}-{next(_names)}"
    if _v2():
        subtree = V2_ROOT / "cgroup.subtree_control"
        if "cpu" not in subtree.read_text().split():
            subtree.write_text("+cpu")
        root, group = V2_ROOT, V2_ROOT / name
        group.mkdir()
        (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
    else:
        root, group = V1_ROOT, V1_ROOT / name
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
    try:
        (group / "cgroup.procs").write_text(str(pid))
        yield group
    finally:
        for member in (group / "cgroup.procs").read_text().split():
            try:
                (root / "cgroup.procs").write_text(member)
            except ProcessLookupError:  # it ended meanwhile
                pass
        group.rmdir()
