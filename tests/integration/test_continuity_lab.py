"""The call survives the fault matrix of benchmarks/continuity.py, as tests.

Each fault (blackouts of 3 s and 45 s, loss of 5/15/30 % one way and both ways, 0.3 Mbit/s, UDP
blocked with real coturn, the signaling server SIGKILLed with and without a backup, a peer
frozen for 10 s, a flapping link) hits one of two headless participants in the network lab.
Each must end with both still in the call (nobody lost, no traceback), the fault seen for what
it is, and media flowing again where the path came back. The timings are the benchmark's to
print, never asserted here.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netns import NetLab

# The benchmark's own runner (the same lab, faults and figures), loaded at run time: mypy
# checks benchmarks/ as scripts, and one file must not be two modules to it.
continuity = importlib.import_module("benchmarks.continuity")

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# Faults after which media must be flowing again within the watch (the path came back, or the
# relay took over). Loss and a slow link may rightly end on audio only (its 30 s clean wait).
PATH_RETURNS = ("blackout", "udp", "kill", "kill-backup", "sigstop", "flap")


# Cases known to pass only some of the time (xfail, not strict): none today. The UDP-blocked
# case was one until a restart that crossed the offering side's own rebuild put two offers in
# flight (one answer taken by the wrong connection: docs/continuity.md, "one offer to a peer
# at a time"). A case is marked rather than its bound loosened, so its figure stays true.
FLAKY: set[str] = set()


def _params() -> list[Any]:
    return [
        pytest.param(
            fault,
            marks=pytest.mark.xfail(
                fault.name in FLAKY,
                reason="known gap: passes only some of the time",
                strict=False,
            ),
        )
        for fault in continuity.MATRIX
    ]


@pytest.mark.parametrize("fault", _params(), ids=lambda fault: fault.name)
def test_the_call_survives(fault: Any, netlab: NetLab, tmp_path: Path) -> None:
    # `netlab` only checks that the lab can run here; the run makes its own namespaces.
    args = argparse.Namespace(quick=True, observe=8.0, size="640x360", fps=15)
    a, b = continuity.one_run(fault, args, continuity.ROOT, tmp_path)
    for name, result in (("a", a), ("b", b)):
        assert not result.lost and result.how == "ok", (name, result)
    logs = {path.name: path.read_text(errors="replace") for path in tmp_path.glob("*.err")}
    assert logs and not [name for name, text in logs.items() if "Traceback" in text]
    if fault.kind in ("blackout", "sigstop", "flap", "udp"):
        assert b.detect_s is not None, b  # b noticed that nothing came from a
    if fault.kind == "kill-backup":
        assert a.failover_s is not None and b.failover_s is not None, (a, b)  # both moved
    if fault.kind == "kill":
        assert a.failover_s is not None and b.failover_s is not None, (a, b)  # back in
    if fault.kind in PATH_RETURNS:
        assert a.back_s is not None and b.back_s is not None, (a, b)
    if fault.amount >= 15 and fault.kind.startswith("loss") or fault.kind == "rate":
        assert a.audio_after_s is not None or b.audio_after_s is not None, (a, b)
