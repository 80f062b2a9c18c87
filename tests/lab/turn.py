"""Debian's coturn in a lab namespace, configured as in production (TURN REST API credentials,
`use-auth-secret`), and a probe to run inside a namespace (where coturn or a client is):

    python -m tests.lab.turn ready ADDR PORT      # wait until coturn answers a STUN Binding
    python -m tests.lab.turn allocate URL USER CREDENTIAL
        # one TURN Allocate with aioice (the participants' own client); prints a JSON result:
        # {"ok": true, "relayed": [ip, port]} or {"ok": false, "error_code": 401, "reason": ...}

coturn only listens on and relays from the namespace address it is given; its log (verbose, so
every ALLOCATE, CREATE_PERMISSION and CHANNEL_BIND is a line) is kept for the test to read.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.lab.netns import Host

TURN_PORT = 3478
REALM = "tandem"
READY_WITHIN_S = 10.0
STOP_WITHIN_S = 5.0
POLL_INTERVAL_S = 0.05
REPO_ROOT = Path(__file__).resolve().parents[2]


class Coturn:
    """One turnserver on `address` inside `host`; `close()` stops it (safe to call twice)."""

    def __init__(self, host: Host, address: str, secret: str, workdir: Path) -> None:
        self.host = host
        self.address = address
        self.secret = secret
        self.workdir = workdir
        self.log_path = workdir / "turnserver.log"
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The URL the session server hands out (`turn_url`)."""
        return f"turn:{self.address}:{TURN_PORT}"

    def start(self) -> None:
        """Start coturn and return once it answers STUN from inside its namespace."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            "turnserver",
            "-n",  # no config file: every setting is on this line
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--verbose",  # one line per request: what the tests read
            f"--listening-ip={self.address}",
            f"--relay-ip={self.address}",
            f"--listening-port={TURN_PORT}",
            "--use-auth-secret",
            f"--static-auth-secret={self.secret}",
            f"--realm={REALM}",
            "--log-file=stdout",
            # Not /var/run/turnserver.pid and /var/lib/turn/turndb: parallel runs stay apart.
            f"--pidfile={self.workdir / 'turnserver.pid'}",
            f"--db={self.workdir / 'turndb'}",
        ]
        with open(self.log_path, "w") as log:  # the child keeps its own copy
            self.process = self.host.popen(argv, stdout=log, stderr=subprocess.STDOUT)
        probe = [sys.executable, "-m", "tests.lab.turn", "ready", self.address, str(TURN_PORT)]
        try:
            self.host.run(probe, cwd=REPO_ROOT, timeout=READY_WITHIN_S + STOP_WITHIN_S)
        except subprocess.SubprocessError as exc:
            self.close()
            raise RuntimeError(f"coturn did not start: {exc}\n{self.log()}") from None

    @staticmethod
    def allocate(prober: Host, url: str, username: str, credential: str) -> dict[str, Any]:
        """One TURN Allocate from `prober`'s namespace (the JSON result of the module doc)."""
        done = prober.run(
            [sys.executable, "-m", "tests.lab.turn", "allocate", url, username, credential],
            cwd=REPO_ROOT,
            timeout=60,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_WITHIN_S)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()


# --- the probe, run inside a namespace ---------------------------------------------------------


def _wait_ready(address: str, port: int, within_s: float = READY_WITHIN_S) -> None:
    """Send STUN Binding requests until one is answered (coturn answers them without auth)."""
    from aioice import stun

    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    deadline = time.monotonic() + within_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((address, port))
        sock.settimeout(POLL_INTERVAL_S)  # the wait for each answer is the poll's interval
        while True:
            try:
                sock.send(bytes(request))
                reply = stun.parse_message(sock.recv(2048))
                if reply.transaction_id == request.transaction_id:
                    return
            except ConnectionRefusedError:  # not listening yet (ICMP port unreachable)
                time.sleep(POLL_INTERVAL_S)
            except (TimeoutError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"no STUN answer from {address}:{port} in {within_s:.0f} s")


class _Closing(asyncio.DatagramProtocol):
    """Knows when the allocation is gone: connection_lost comes after the deleting Refresh."""

    def __init__(self) -> None:
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _allocate(url: str, username: str, credential: str) -> dict[str, Any]:
    from aioice import stun, turn
    from aiortc.rtcicetransport import parse_stun_turn_uri

    parsed = parse_stun_turn_uri(url)  # as aiortc reads the URL the server hands out
    try:
        transport, protocol = await turn.create_turn_endpoint(
            _Closing,
            server_addr=(parsed["host"], parsed["port"]),
            username=username,
            password=credential,
            transport=parsed["transport"],
        )
    except stun.TransactionFailed as exc:
        code, reason = exc.response.attributes.get("ERROR-CODE", (None, ""))
        return {"ok": False, "error_code": code, "reason": reason}
    except stun.TransactionTimeout:
        return {"ok": False, "error_code": None, "reason": "timeout"}
    relayed = transport.get_extra_info("sockname")
    transport.close()  # deletes the allocation (a Refresh with lifetime 0)
    await protocol.closed
    return {"ok": True, "relayed": list(relayed)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["ready"] and len(argv) == 3:
        _wait_ready(argv[1], int(argv[2]))
        return 0
    if argv[:1] == ["allocate"] and len(argv) == 4:
        print(json.dumps(asyncio.run(_allocate(argv[1], argv[2], argv[3]))), flush=True)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
