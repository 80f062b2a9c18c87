"""The clinicians' console reads what a server says as the desktop client does: garbage and
messages past the protocol's limits are dropped (app/server/console/console-signaling.js).

The script runs in Node (the one Playwright ships for the e2e tests) with a stand-in window:
no browser is needed to see what `onFrame` hands on.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.net.signaling_protocol import MAX_HEARTBEAT_S, MAX_PEERS, welcome_msg

SCRIPT = Path(__file__).resolve().parents[2] / "app/server/console/console-signaling.js"
HARNESS = """
const vm = require('vm');
const fs = require('fs');
const [script, framesJson] = [process.argv[1], fs.readFileSync(0, 'utf8')];
const window = {};
const context = { window, WebSocket: { OPEN: 1 }, setTimeout, clearTimeout, setInterval,
                  clearInterval, Date, crypto: globalThis.crypto };
vm.createContext(context);
vm.runInContext(fs.readFileSync(script, 'utf8'), context);
const handed = [];
const link = new window.Tandem.SignalingLink('ws://x/ws', 't', {
  onMessage: (msg) => handed.push(msg.type), onStatus() {}, onUnreachable() {}, onGaveUp() {},
});
const out = [];
for (const frame of JSON.parse(framesJson)) {
  handed.length = 0;
  link.onFrame(frame);
  out.push({ handed: [...handed], heartbeatMs: link.heartbeatMs });
}
link.stop();
process.stdout.write(JSON.stringify({ out, malformed: link.malformed,
                                      counts: { ...link.receivedCounts } }));
"""


def node() -> str:
    from playwright._impl._driver import compute_driver_executable

    executable = compute_driver_executable()[0]  # the Node that Playwright ships
    if not Path(executable).exists():
        pytest.skip("Playwright's Node is not installed")
    return executable


def on_frames(frames: list[str]) -> dict[str, Any]:
    run = subprocess.run(
        [node(), "-e", HARNESS, str(SCRIPT)],
        input=json.dumps(frames),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


WELCOME = welcome_msg("me", "room", "therapist", "Dr", 2.0, ice_servers=[], peers=[])


def peer(n: int) -> dict[str, Any]:
    return {"peer_id": f"p{n}", "name": "N", "role": "partner", "v": 2}


GARBAGE = [
    "not json",
    "3",
    "null",
    "[]",
    '"a string"',
    '{"type": 5}',
    json.dumps({"type": "t" * 65}),
    "[" * 100_000,
    '{"type": "offer", "from": ' + "[" * 1000 + "]" * 1000 + "}",
    json.dumps({**WELCOME, "peers": [peer(n) for n in range(5000)]}),
    json.dumps({**WELCOME, "heartbeat_s": 0}),
    json.dumps({**WELCOME, "heartbeat_s": MAX_HEARTBEAT_S + 1}),
    json.dumps({**WELCOME, "heartbeat_s": "1"}),
    json.dumps(WELCOME).replace('"heartbeat_s": 2.0', '"heartbeat_s": 1e999'),
    json.dumps({**WELCOME, "peers": "abc"}),
    json.dumps({**WELCOME, "peers": [5]}),
    json.dumps({**WELCOME, "ice_servers": [{}] * 9}),
    json.dumps({"type": "peer_joined"}),
    json.dumps({"type": "peer_joined", "peer": {"peer_id": 7}}),
    json.dumps({"type": "peer_left", "peer_id": "p" * 129}),
    json.dumps({"type": "offer", "sdp": "v=0"}),
    json.dumps({"type": "chat", "from": ["p"], "id": "1", "text": "hi"}),
]


def test_garbage_is_dropped_and_never_handed_on() -> None:
    result = on_frames(GARBAGE)
    assert [each["handed"] for each in result["out"]] == [[]] * len(GARBAGE)
    assert result["malformed"] == len(GARBAGE) - 2  # two of them do not even parse
    assert result["counts"] == {}


def test_what_is_within_the_limits_is_handed_on() -> None:
    frames = [
        json.dumps({**WELCOME, "peers": [peer(n) for n in range(MAX_PEERS)]}),
        json.dumps({"type": "peer_joined", "peer": peer(9)}),
        json.dumps({"type": "offer", "from": "p9", "sdp": "v=0"}),
        json.dumps({"type": "pong"}),
        json.dumps({"type": "__proto__"}),  # a type is only a key of the counts
        json.dumps({"type": "something_new"}),
    ]
    result = on_frames(frames)
    handed = [each["handed"] for each in result["out"]]
    assert handed == [["welcome"], ["peer_joined"], ["offer"], [], ["__proto__"], ["something_new"]]
    assert result["out"][0]["heartbeatMs"] == 2000
    assert result["malformed"] == 0
    assert result["counts"]["__proto__"] == 1 and result["counts"]["pong"] == 1
