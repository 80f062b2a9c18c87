"""Skip a lab test when its part is missing, except in CI, where a missing part is a failure."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_LAB_ENV = "TANDEM_REQUIRE_LAB"


def lab_required() -> bool:
    return os.environ.get(REQUIRE_LAB_ENV, "") not in ("", "0")


def need(condition: bool, what: str) -> None:
    """Skip (laptop) or fail (CI, TANDEM_REQUIRE_LAB=1) when a lab part is missing."""
    if condition:
        return
    message = f"test lab part missing: {what}"
    if lab_required():
        pytest.fail(f"{message} ({REQUIRE_LAB_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


def need_root() -> None:
    need(os.geteuid() == 0, "root (network namespaces, tc, nftables and a system PulseAudio)")


def need_program(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"the program '{name}' (see scripts/setup.sh)")
    assert path is not None
    return path
