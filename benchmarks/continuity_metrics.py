"""The figures of benchmarks/continuity.py, read from one participant's headless JSON lines.

Pure functions over the lines (each a dict with "type" and "t", unix seconds) and the fault's
moments, so the definitions live in one place:

- detect: fault start -> the first `peer_interrupted` (network and peer faults) or
  `reconnecting` what=signaling (server faults).
- back: the moment the path returned (`ref`) -> media again: the earlier of `peer_restored` and
  the first decoded frame after `ref` (a stats line's `t - since_last_frame_s`, with fps_in > 0).
  If media never stopped this is simply the next frame. For a fault that persists (`ref` is its
  start) a frame counts only after the first `peer_interrupted`, if there is one.
- audio: fault start -> the first `media_mode` audio_only, and how long audio-only lasted.
- failover: fault start -> `server_switched`; without a backup, the restart -> `reconnected`
  what=signaling.
- lost: the participant exited non-zero, or the other side saw it leave for a reason other
  than "left".

A figure is None when its event never came; `supported` tells "not emitted by this code" (n/a)
from "emitted by this code but not in this run" (never).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

Line = dict[str, Any]
NEW_EVENTS = ("peer_interrupted", "peer_restored", "reconnecting", "media_mode", "server_switched")


@dataclass(frozen=True)
class Moments:
    start: float  # the fault began (unix s)
    ref: float  # the path returned: restore, restart, or `start` for faults that persist
    end: float  # observation over
    server_fault: bool = False
    backup: bool = False


@dataclass(frozen=True)
class SideResult:
    detect_s: float | None
    back_s: float | None
    audio_after_s: float | None
    audio_for_s: float | None
    failover_s: float | None
    lost: bool
    how: str  # what happened to the call, for the reader: "ok", "exit 1", "peer_left timeout"…


def _first(lines: list[Line], kind: str, after: float, **fields: Any) -> Line | None:
    for line in lines:
        if line["type"] == kind and line["t"] >= after:
            if all(line.get(k) == v for k, v in fields.items()):
                return line
    return None


def _since(line: Line | None, moment: float) -> float | None:
    return None if line is None else max(0.0, float(line["t"]) - moment)


def media_back(lines: list[Line], ref: float, persisting: bool = False) -> float | None:
    """Seconds from `ref` to media again (see the module doc). For a fault that persists
    (`ref` is its start: UDP blocked), a frame decoded before the interruption was noticed
    was on its way before the fault bit: only frames after it count (measured: under load,
    frames 0.01-0.05 s after the start made a link that never came back look back)."""
    candidates = []
    restored = _first(lines, "peer_restored", ref)
    if restored is not None:
        candidates.append(float(restored["t"]))
    frames_after = ref
    interrupted = _first(lines, "peer_interrupted", ref) if persisting else None
    if interrupted is not None:
        frames_after = float(interrupted["t"])
    for line in lines:
        since = line.get("since_last_frame_s") if line["type"] == "stats" else None
        if since is not None and (line.get("fps_in") or 0) > 0:
            frame_at = float(line["t"]) - float(since)
            if frame_at > frames_after:
                candidates.append(frame_at)
                break
    return min(candidates) - ref if candidates else None


def audio_only(lines: list[Line], start: float, end: float) -> tuple[float | None, float | None]:
    """(seconds from `start` to audio-only, seconds spent on it up to `end`)."""
    engaged_at: float | None = None
    total, since = 0.0, None
    for line in lines:
        if line["type"] != "media_mode" or line["t"] < start:
            continue
        if line.get("mode") == "audio_only" and since is None:
            since = float(line["t"])
            engaged_at = since if engaged_at is None else engaged_at
        elif line.get("mode") == "video" and since is not None:
            total, since = total + float(line["t"]) - since, None
    if since is not None:
        total += end - since
    return (None, None) if engaged_at is None else (engaged_at - start, total)


def side(lines: list[Line], other: list[Line], exit_code: int | None, at: Moments) -> SideResult:
    """One participant's figures; `other` is the other participant's lines (it saw us leave?)."""
    own_ids = {line.get("peer_id") for line in lines if line["type"] == "joined"}
    if at.server_fault:
        detected = _first(lines, "reconnecting", at.start, what="signaling")
    else:
        detected = _first(lines, "peer_interrupted", at.start)
    if at.backup:
        failover = _since(_first(lines, "server_switched", at.start), at.start)
    elif at.server_fault:
        failover = _since(_first(lines, "reconnected", at.ref, what="signaling"), at.ref)
    else:
        failover = None
    left = [
        line
        for line in other
        if line["type"] == "peer_left" and line.get("peer_id") in own_ids
        and line.get("reason") != "left"
    ]  # fmt: skip
    how = "ok"
    if exit_code not in (0, None):
        how = f"exit {exit_code}"
    elif left:
        how = f"peer_left {left[0].get('reason')}"
    audio_after, audio_for = audio_only(lines, at.start, at.end)
    return SideResult(
        detect_s=_since(detected, at.start),
        back_s=media_back(lines, at.ref, persisting=at.ref == at.start),
        audio_after_s=audio_after,
        audio_for_s=audio_for,
        failover_s=failover,
        lost=how != "ok",
        how=how,
    )


def summary(values: list[float | None], supported: bool, never: str = "never") -> str:
    """Median of the runs that had the figure, "k/N" when only some did; n/a or `never`."""
    have = [v for v in values if v is not None]
    if not have:
        return never if supported else "n/a"
    text = f"{statistics.median(have):.1f}"
    return text if len(have) == len(values) else f"{text} ({len(have)}/{len(values)})"
