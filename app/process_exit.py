"""How a `tandem` process ends: flushed, then at once, without the interpreter's teardown.

Native libraries the app loads keep threads of their own: livekit's FFI runtime behind the echo
canceller, PortAudio's callback threads, Qt's. When Python finalizes around them, a C++ thread
object can be destroyed while still joinable, and the process aborts ("terminate called without
an active exception", SIGABRT) after its work is done: a `tandem check` that printed a ready
report then exited -6 in CI. livekit's own agents framework ends its processes the same way
(livekit/agents#770). Nothing is lost: every command closes its files, devices and connections
before it returns its status; here stdout, stderr and the logs are flushed before the exit.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn


def status_of(exit_request: SystemExit) -> int:
    """The exit status a SystemExit asks for, as `sys.exit` would make it."""
    code = exit_request.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


def run_and_exit(main: Callable[[], int]) -> NoReturn:
    """Run `main` and end the process with its status, skipping the interpreter's teardown."""
    try:
        status = main()
    except SystemExit as exit_request:  # argparse's --help and usage errors
        status = status_of(exit_request)
    except KeyboardInterrupt:
        status = 130
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nobody is reading any more
                pass
    os._exit(status & 0xFF if status >= 0 else 1)
