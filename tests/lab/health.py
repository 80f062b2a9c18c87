"""Wait until a session server answers /health: in this process, or inside a network namespace as
`python -m tests.lab.health URL` (the poll must run where the client will)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

POLL_INTERVAL_S = 0.05


class ServerNotReady(RuntimeError):
    pass


def wait_for_health(
    url: str, within_s: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll `url`/health until it answers ok; raise at once if `process` (the server) died."""
    deadline = time.monotonic() + within_s
    while True:
        if process is not None and process.poll() is not None:
            raise ServerNotReady(f"tandem server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if json.load(response).get("ok"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerNotReady(f"tandem server did not answer {url}/health in {within_s:.0f} s")
        time.sleep(POLL_INTERVAL_S)  # the poll's interval: the loop waits for the answer


if __name__ == "__main__":
    wait_for_health(sys.argv[1])
