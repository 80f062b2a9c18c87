"""Call continuity under faults: the fault matrix in the network lab, two headless participants.

Each run is a fresh lab (tests/lab/call_lab.py: the server on a router namespace, participants
"a" and "b" on their own links): both join, video flows both ways, then one fault hits a's side
(tests/lab/faults.py), ends, and the call is watched a while longer before both are stopped.
Figures per fault and per side (definitions in benchmarks/continuity_metrics.py): detection,
media back after the path returns, audio-only, failover, lost participants. Root only.

    .venv/bin/python -m benchmarks.continuity [--runs N] [--quick] [--only NAME] [--ref GIT_REF]

--ref runs the same matrix against another commit's code (a temporary `git worktree`); the lab
and these figures still come from this tree. Every run stops by itself (deadlines everywhere).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # run as a script or with -m, as the others

from continuity_metrics import NEW_EVENTS, Line, Moments, SideResult, side, summary  # noqa: E402

from tests.lab import faults  # noqa: E402
from tests.lab.call_lab import CallLab  # noqa: E402
from tests.lab.netns import NetLab  # noqa: E402
from tests.lab.participant import Participant  # noqa: E402
from tests.lab.turn import Coturn  # noqa: E402

TURN_SECRET = "continuity-turn-secret-" + "t" * 12
SETUP_DEADLINE_S = 40.0
SETTLE_S = 5.0  # after video flows and before the fault
STOP_DEADLINE_S = 15.0


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # blackout, loss-in, loss-both, rate, udp, kill, kill-backup, sigstop, flap
    seconds: float  # how long the fault lasts (full matrix)
    quick_s: float  # and in --quick
    amount: float = 0.0  # loss %, Mbit/s

    @property
    def server_fault(self) -> bool:
        return self.kind.startswith("kill")


MATRIX = [
    Fault("blackout-3s", "blackout", 3, 3),
    Fault("blackout-45s", "blackout", 45, 45),
    *(Fault(f"loss-{p}-in", "loss-in", 20, 10, p) for p in (5, 15, 30)),
    *(Fault(f"loss-{p}-both", "loss-both", 20, 10, p) for p in (5, 15, 30)),
    Fault("rate-0.3", "rate", 20, 10, 0.3),
    Fault("udp-blocked", "udp", 30, 20),
    Fault("server-kill", "kill", 5, 5),
    Fault("server-kill-backup", "kill-backup", 0, 0),
    Fault("peer-sigstop-10s", "sigstop", 10, 10),
    Fault("flap-2s", "flap", 20, 12),  # 2 s down, 2 s up, for this long
]


def drain(
    p: Participant, into: list[Line], until: Callable[[Line], bool] | None, wait: float
) -> bool:
    """Move p's lines into `into` for up to `wait` s; True as soon as one matches `until`."""
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        try:
            line = p.lines.get(timeout=min(left, 0.2))
        except queue.Empty:
            continue
        if line is None:
            p.lines.put(None)  # keep the end-of-output mark for later drains
            return False
        into.append(line)
        if until is not None and until(line):
            return True
    return False


def flowing(line: Line) -> bool:
    return line["type"] == "stats" and (line.get("fps_in") or 0) > 0


@contextlib.contextmanager
def applied(
    fault: Fault, lab: CallLab, a: Participant, seconds: float
) -> Iterator[Callable[[], None]]:
    """The fault in force for the block; yields what to call to wait out its duration."""
    end = lab.ends["a"]

    def hold() -> None:
        time.sleep(seconds)  # the fault's length is the measurement's input, not a sync

    if fault.kind == "blackout":
        with faults.blackout(end):
            yield hold
    elif fault.kind.startswith("loss"):
        with faults.loss(end, int(fault.amount), "in" if fault.kind == "loss-in" else "both"):
            yield hold
    elif fault.kind == "rate":
        with faults.rate(end, fault.amount, "both"):
            yield hold
    elif fault.kind == "udp":
        with faults.block_udp(end.host):
            yield hold
    elif fault.kind == "sigstop":
        with faults.frozen(a.proc):
            yield hold
    elif fault.kind == "flap":

        def cycle() -> None:
            for _, step_s in faults.flap(end, on_s=2, off_s=2, times=max(1, round(seconds / 4))):
                time.sleep(step_s)

        yield cycle
    else:  # server faults: the primary dies now; without a backup it comes back after `seconds`
        lab.kill_server()
        yield hold
        if fault.kind == "kill":
            lab.restart_server()


def one_run(
    fault: Fault, args: argparse.Namespace, code: Path, tmp: Path
) -> tuple[SideResult, ...]:
    netlab = NetLab()
    lab = CallLab(netlab, tmp, ("--size", args.size, "--fps", str(args.fps)), code_root=code)
    coturn: Coturn | None = None
    try:
        for name in ("a", "b"):
            lab.host(name)
        if fault.kind == "udp":  # what production offers: TURN over UDP, then over TCP
            coturn = Coturn(lab.router, lab.server_addr, TURN_SECRET, tmp / "coturn")
            coturn.start()
            config = tmp / "server.toml"
            config.write_text(
                f'[server]\nturn_url = ["{coturn.url}", "{coturn.url}?transport=tcp"]\n'
            )
            lab.server_args = ("--config", str(config))
            lab.env["TANDEM_TURN_SECRET"] = TURN_SECRET
        lab.start_server("a", heartbeat_s=None)  # the server's own default, as deployed
        backup = fault.kind == "kill-backup" and lab.join_supports("--backup-server")
        if fault.kind == "kill-backup":
            lab.start_backup_server()
        people = [lab.join(h, lab.token(f"bench-{h}"), backup=backup) for h in ("a", "b")]
        lines: list[list[Line]] = [[], []]
        for p, into in zip(people, lines, strict=True):
            if not drain(p, into, flowing, SETUP_DEADLINE_S):
                raise RuntimeError(f"{p.name}: no video before the fault; saw {into[-3:]}")
        # A call a few seconds old, as a real call is when its link goes bad: a connection's
        # first seconds ramp up from nothing and decide nothing (app/call/mode_keeper.py).
        for p, into in zip(people, lines, strict=True):
            drain(p, into, None, SETTLE_S / 2)
        seconds = fault.quick_s if args.quick else fault.seconds
        start = time.time()
        with applied(fault, lab, people[0], seconds) as wait_out:
            wait_out()
        ref = start if fault.kind in ("udp", "kill-backup") else time.time()
        time.sleep(args.observe)  # the watch after the fault: its lines wait in each queue
        for p, into in zip(people, lines, strict=True):
            drain(p, into, None, 0.5)
        end = time.time()
        codes = []
        for p, into in zip(people, lines, strict=True):
            if p.proc.poll() is None:
                p.proc.terminate()  # SIGTERM: a participant still in the call leaves cleanly
            drain(p, into, lambda line: line["type"] == "left", STOP_DEADLINE_S)
            try:
                codes.append(p.proc.wait(timeout=STOP_DEADLINE_S))
            except subprocess.TimeoutExpired:
                p.proc.kill()
                codes.append(p.proc.wait())
        at = Moments(start, ref, end, fault.server_fault, backup)
        return tuple(side(lines[i], lines[1 - i], codes[i], at) for i in (0, 1))
    finally:
        lab.close()
        if coturn is not None:
            coturn.close()
        netlab.close()


@contextlib.contextmanager
def checkout(ref: str | None) -> Iterator[Path]:
    """This tree, or `ref` checked out in a temporary worktree (removed afterwards)."""
    if ref is None:
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="tandem-ref-") as parent:
        path = Path(parent) / "code"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref],
                       check=True, capture_output=True)  # fmt: skip
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                           capture_output=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run, shorter faults")
    parser.add_argument("--only", choices=[f.name for f in MATRIX], action="append")
    parser.add_argument("--ref", metavar="GIT_REF", help="measure this commit's code instead")
    parser.add_argument("--observe", type=float, default=None, help="seconds watched after")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    args.observe = args.observe or (10.0 if args.quick else 20.0)
    chosen = [f for f in MATRIX if not args.only or f.name in args.only]
    with checkout(args.ref) as code, tempfile.TemporaryDirectory(prefix="continuity-") as tmp:
        help_text = subprocess.run([sys.executable, "-m", "app", "join", "--help"], cwd=code,
                                   capture_output=True, text=True).stdout  # fmt: skip
        supported = {event: event in help_text for event in NEW_EVENTS}
        label = args.ref or "this tree"
        emitted = [event for event, ok in supported.items() if ok] or "none of the new ones"
        print(f"code: {label}; events emitted: {emitted}")
        table: list[str] = []
        for fault in chosen:
            results: list[tuple[SideResult, ...]] = []
            for run in range(runs):
                folder = Path(tmp) / f"{fault.name}-{run}"
                folder.mkdir()
                try:
                    results.append(one_run(fault, args, code, folder))
                except Exception as exc:  # a run that could not even start is reported, not fatal
                    print(f"{fault.name} run {run + 1}: not measured: {exc}", flush=True)
                    continue
                print(f"{fault.name} run {run + 1}: " + " | ".join(brief(r) for r in results[-1]))
            table += rows(fault, results, supported, args.observe)
        print(f"\ncontinuity, {label}, {runs} run(s) per fault, {args.size}@{args.fps}"
              f"{' (quick)' if args.quick else ''}; seconds, median over runs")  # fmt: skip
        print(HEADER)
        print("-" * len(HEADER))
        print("\n".join(table))
        print("targets: detect <= 1.5, back <= 3, audio-only engaged <= 3, backup <= 5, lost 0")
    return 0


def brief(result: SideResult) -> str:
    figures = {"detect": result.detect_s, "back": result.back_s, "failover": result.failover_s}
    shown = " ".join(f"{k} {v:.1f}" for k, v in figures.items() if v is not None)
    return f"{result.how} {shown}".strip()


COLUMNS = ("detect", "back", "audio@", "audio for", "failover")
HEADER = (
    f"{'fault':<19}{'side':<5}" + "".join(f"{c:>11}" for c in COLUMNS) + "  lost  what happened"
)


def rows(
    fault: Fault, results: list[tuple[SideResult, ...]], supported: dict[str, bool], observe: float
) -> list[str]:
    if not results:
        return [f"{fault.name:<19}not measured"]
    detect_ok = supported["reconnecting" if fault.server_fault else "peer_interrupted"]
    out = []
    for i, name in enumerate(("a", "b")):
        mine = [r[i] for r in results]
        failover_ok = supported[
            "server_switched" if fault.kind == "kill-backup" else "reconnecting"
        ]
        cells = [
            summary([r.detect_s for r in mine], detect_ok),
            summary([r.back_s for r in mine], True, never=f">{observe:.0f}"),
            summary([r.audio_after_s for r in mine], supported["media_mode"]),
            summary([r.audio_for_s for r in mine], supported["media_mode"]),
            summary([r.failover_s for r in mine], failover_ok) if fault.server_fault else "-",
        ]
        lost = sum(r.lost for r in mine)
        hows = sorted({r.how for r in mine})
        out.append(
            f"{fault.name:<19}{name:<5}"
            + "".join(f"{c:>11}" for c in cells)
            + f"{lost:>6}  {', '.join(hows)}"
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
