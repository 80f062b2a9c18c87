"""The couple's safety plan, kept on this computer for the offline crisis card.

The server sends the plan at every connection and whenever the therapist changes it; the copy
here is what the card shows when the server cannot be reached, with the date it was last
changed (`updated_at`) and when this computer last heard it (`saved_at`). One small JSON file,
0600, written atomically (app.emergency.private_file); reading it takes about a millisecond.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.emergency.models import Plan
from app.emergency.private_file import data_dir, read_private, remove_private, write_private
from app.emergency.protocol import MAX_PLAN_CHARS

log = logging.getLogger(__name__)

FILENAME = "safety_plan.json"
FORMAT = 1


@dataclass(frozen=True)
class CachedPlan:
    text: str = field(repr=False)
    updated_at: float  # when the clinic last changed it (unix s, the server's clock)
    saved_at: float  # when this computer last received it (unix s, this computer's clock)

    @property
    def plan(self) -> Plan:
        return Plan(self.text, self.updated_at)


class PlanCache:
    """load() never raises: a missing, unreadable or damaged file is no plan (logged by kind).
    save() raises OSError when the file cannot be written (the caller logs it and goes on)."""

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time):
        self.path = path or data_dir() / FILENAME
        self._clock = clock

    def load(self) -> CachedPlan | None:
        raw = read_private(self.path)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            plan = CachedPlan(data["text"], float(data["updated_at"]), float(data["saved_at"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored the cached safety plan: the file is damaged")
            return None
        valid = isinstance(plan.text, str) and len(plan.text) <= MAX_PLAN_CHARS
        if not (valid and math.isfinite(plan.updated_at) and math.isfinite(plan.saved_at)):
            log.warning("ignored the cached safety plan: the file is damaged")
            return None
        return plan

    def save(self, plan: Plan) -> CachedPlan:
        cached = CachedPlan(plan.text, plan.updated_at, self._clock())
        body = {
            "format": FORMAT,
            "text": cached.text,
            "updated_at": cached.updated_at,
            "saved_at": cached.saved_at,
        }
        write_private(self.path, json.dumps(body, ensure_ascii=False))
        return cached

    def remember(self, plan: Plan | None) -> None:
        """What the server said the plan is now: saved, or forgotten when the clinic has
        removed it (None). A file problem is logged and the client goes on."""
        try:
            if plan is None:
                remove_private(self.path)
            else:
                self.save(plan)
        except OSError as exc:
            log.warning("could not keep the safety plan on this computer: %s", type(exc).__name__)

    def clear(self) -> None:
        remove_private(self.path)
