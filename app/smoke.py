"""Smoke-test hooks for the installed app, whose inside a test cannot reach (Qt-free).

The frozen `tandem` is one binary, so a test can only watch it from outside. One environment
variable, never set for a person, asks for one of two things:

* `TANDEM_SMOKE=imports`: import every module under `app` the bundle has, print their names on
  stdout and exit: 0, or 1 with one line per module that failed on stderr. A library a module
  needs that is missing from the bundle shows up here even when no smoke run reaches its code,
  and a module missing from the bundle as a name the sources have and this list lacks. Then
  the native parts that load only when used (the echo canceller's library) are started once:
  one that cannot start exits 1 too.
* `TANDEM_SMOKE=paint`: open the window as usual; once the equipment-check page has been painted,
  print PAINTED_LINE on stdout and close the window the normal way (the exit status is the app's
  own). The Xvfb smoke test and the cold-start benchmark wait for that line.
"""

from __future__ import annotations

import os
import pkgutil
import sys
from collections.abc import Mapping

SMOKE_ENV = "TANDEM_SMOKE"
IMPORTS = "imports"
PAINT = "paint"
PAINTED_LINE = "tandem: smoke: the equipment check page is painted"


def requested(environ: Mapping[str, str] = os.environ) -> str:
    """The smoke hook asked for ("" when none: the app as a person runs it)."""
    return environ.get(SMOKE_ENV, "")


def app_modules() -> list[str]:
    """Every module under `app` (but `app.__main__`, which would run the app)."""
    import app

    names = ["app"]
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if not module.name.endswith(".__main__"):
            names.append(module.name)
    return sorted(names)


def import_everything() -> int:
    """Import each of `app_modules()` and print its name; 0 if all imported, else 1."""
    import importlib

    names = app_modules()
    failed = 0
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken bundle can fail in any way; name each one
            failed += 1
            why = f"{type(exc).__name__}: {exc}"
            print(f"tandem: smoke: cannot import {name}: {why}", file=sys.stderr)
        else:
            print(name)
    if failed:
        return 1
    print(f"tandem: smoke: imported {len(names)} modules", file=sys.stderr)
    return 0 if native_parts_load() else 1


def native_parts_load() -> bool:
    """Whether the native libraries that load only when first used load here (an import alone
    does not reach them): the echo canceller's (livekit's FFI library)."""
    from app.call.echo_canceller import echo_cancellation_available

    if echo_cancellation_available():
        return True
    print("tandem: smoke: echo cancellation cannot start (see the log)", file=sys.stderr)
    return False
