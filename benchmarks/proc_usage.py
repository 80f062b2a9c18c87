"""CPU and memory of a process tree from /proc (Linux), measured from outside, the same way for
the desktop app and for Chromium's many processes.

CPU is utime + stime (all threads) between two samples; a process that starts in between counts
all its time (all of it falls in the window), one that ends in between loses its last share.
Memory is PSS (/proc/PID/smaps_rollup): each shared page split between the processes sharing it,
so summing a tree's PSS counts a library shared by Chromium's processes once, not once each.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # the process ended
        return None
    # The command name is in parentheses and may hold spaces: split after its last ')'.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system time of every thread of `pid` so far; None once it has ended."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime (stat fields 14, 15)


def pss_kb(pid: int) -> int:
    """Proportional set size of `pid` in kB (0 if it has ended or cannot be read)."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree(root: int) -> list[int]:
    """`root` and all its descendants alive now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def find_process(argument: str) -> int | None:
    """The oldest process (lowest in the tree) whose command line holds `argument`."""
    matches: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in argv:
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                matches[int(entry.name)] = int(fields[1])
    roots = [pid for pid, parent in matches.items() if parent not in matches]
    return min(roots) if roots else None


class TreeUsage:
    """CPU of a process tree over a window: `start()`, then `stop()` gives % of one core."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._before: dict[int, float] = {}
        self._wall0 = 0.0
        self.processes = 0  # how many the tree had at the end

    def _sample(self) -> dict[int, float]:
        sample = {}
        for pid in tree(self.root):
            seconds = cpu_seconds(pid)
            if seconds is not None:
                sample[pid] = seconds
        return sample

    def start(self, now: float) -> None:
        self._before, self._wall0 = self._sample(), now

    def stop(self, now: float) -> tuple[float, int]:
        """(CPU % of one core over the window, PSS of the tree now in kB)."""
        after = self._sample()
        self.processes = len(after)
        used = sum(seconds - self._before.get(pid, 0.0) for pid, seconds in after.items())
        wall = max(now - self._wall0, 1e-9)
        return 100.0 * used / wall, sum(pss_kb(pid) for pid in after)
