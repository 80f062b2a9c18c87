"""The `[emergency]` table of the server's config file (docs/emergency.md, "Escalation").

Kept apart from app/server/config.py so that the emergency settings and their checks live with
the feature; config.py holds an `EmergencySettings` and asks `load_table` for the file's table.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.server.emergency.escalation import Timings

KEYS = frozenset({"ring_again_s", "everyone_s", "unanswered_s", "webhook_url", "backup_tier"})


@dataclass(frozen=True)
class EmergencySettings:
    timings: Timings = Timings()
    webhook_url: str = ""  # POSTed when a case goes unanswered; "" for none
    backup_tier: tuple[str, ...] = ()  # clinicians' display names that are tier 2

    def check(self) -> None:
        """Raise ValueError (with the setting's name) unless the server can work with these."""
        try:
            self.timings.check()
        except ValueError as exc:
            raise ValueError(f"[emergency] {exc}") from None
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("[emergency] webhook_url must start with http:// or https://")

    def tier_of(self, name: str) -> int:
        return 2 if name in self.backup_tier else 1


def load_table(path: str | Path | None) -> dict[str, Any]:
    """The `[emergency]` table of a TOML file ({} without a file or table); ValueError if bad."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the config file {path}: {exc}") from None
    table = data.get("emergency", {})
    if not isinstance(table, dict):
        raise ValueError(f"[emergency] in {path} must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ValueError(
            f"unknown setting {', '.join(unknown)} in [emergency] of {path}; the settings are: "
            f"{', '.join(sorted(KEYS))}"
        )
    return table


def from_table(table: dict[str, Any]) -> EmergencySettings:
    """Settings from a parsed `[emergency]` table; ValueError names a bad setting."""
    defaults = Timings()

    def seconds(key: str, default: float) -> float:
        value = table.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"[emergency] {key} must be a number of seconds, not {value!r}")
        return float(value)

    url = table.get("webhook_url", "")
    if not isinstance(url, str):
        raise ValueError("[emergency] webhook_url must be a string")
    tier = table.get("backup_tier", [])
    if not isinstance(tier, list) or not all(isinstance(name, str) for name in tier):
        raise ValueError("[emergency] backup_tier must be a list of names")
    settings = EmergencySettings(
        timings=Timings(
            ring_again_s=seconds("ring_again_s", defaults.ring_again_s),
            everyone_s=seconds("everyone_s", defaults.everyone_s),
            unanswered_s=seconds("unanswered_s", defaults.unanswered_s),
        ),
        webhook_url=url,
        backup_tier=tuple(tier),
    )
    settings.check()
    return settings
