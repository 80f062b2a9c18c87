"""Headless Chromium in the desktop app's place: the clinicians' console (/console) in a call.

Debian's Chromium driven by Playwright with the flags the console's browser tests use
(tests/e2e/conftest.py). Its fake camera plays the benchmark's clip (benchmarks/call_media.py)
and is asked for 640x360 at 15 fps, the app's top rung; its fake microphone beeps. Every
RTCPeerConnection the page makes is kept (an init script wraps the constructor, the page is not
changed) so `getStats()` tells what the browser sent each peer.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proc_usage import find_process

CHROMIUM = Path("/usr/bin/chromium")
CALL_TIMEOUT_MS = 60_000

# Before the page's own scripts: keep every connection, and ask the camera for 640x360@15.
INIT_SCRIPT = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__benchPcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__benchPcs.push(this); }
  };
  const media = navigator.mediaDevices;
  if (media && media.getUserMedia) {
    const ask = media.getUserMedia.bind(media);
    media.getUserMedia = (constraints) => ask({ ...constraints, video: constraints.video
      ? { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15 } } : false });
  }
})();
"""

# Synchronous (Playwright takes a promise as a truthy answer): both peers' video decoded.
BOTH_PEERS_DECODED = """
() => {
  const peers = window.tandemConsole ? window.tandemConsole.media() : [];
  return peers.length >= 2 && peers.every((p) => p.framesDecoded > 0);
}
"""

LEFT = "() => !window.tandemConsole || window.tandemConsole.state() === 'left'"

# What each live connection has sent so far (running totals).
SENT_STATS = """
async () => {
  const out = [];
  for (const [index, pc] of window.__benchPcs.entries()) {
    if (pc.connectionState !== 'connected') continue;
    const entries = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' || s.type === 'transport' || s.type === 'inbound-rtp') {
        entries.push({ type: s.type, kind: s.kind || null, bytesSent: s.bytesSent || 0,
          frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
          framesSent: s.framesSent || 0, framesPerSecond: s.framesPerSecond || 0,
          framesDecoded: s.framesDecoded || 0 });
      }
    });
    out.push({ index, entries });
  }
  return out;
}
"""


@dataclass(frozen=True)
class Sent:
    """What one side sent one peer over a window."""

    width: int
    height: int
    fps: float
    video_kbps: float | None  # RTP payload and headers of the video stream (None: unknown)
    total_kbps: float  # everything on the peer's transport: video, audio, RTCP, ICE


def sent_per_peer(
    before: list[dict[str, Any]], after: list[dict[str, Any]], seconds: float
) -> list[Sent]:
    """Per connection alive at both samples (SENT_STATS's answers), the rates in between."""
    earlier = {conn["index"]: conn["entries"] for conn in before}
    figures = []
    for conn in after:
        if conn["index"] not in earlier or seconds <= 0:
            continue
        old, new = _totals(earlier[conn["index"]]), _totals(conn["entries"])
        figures.append(
            Sent(
                width=new["width"],
                height=new["height"],
                fps=(new["frames"] - old["frames"]) / seconds,
                video_kbps=8 * (new["video"] - old["video"]) / seconds / 1000,
                total_kbps=8 * (new["transport"] - old["transport"]) / seconds / 1000,
            )
        )
    return figures


def received_fps(
    before: list[dict[str, Any]], after: list[dict[str, Any]], seconds: float
) -> list[float]:
    """Per connection alive at both samples, the frames the browser decoded per second."""
    earlier = {conn["index"]: conn["entries"] for conn in before}
    return [
        (_totals(conn["entries"])["decoded"] - _totals(earlier[conn["index"]])["decoded"]) / seconds
        for conn in after
        if conn["index"] in earlier and seconds > 0
    ]


def _totals(entries: list[dict[str, Any]]) -> dict[str, int]:
    totals = {"width": 0, "height": 0, "frames": 0, "video": 0, "transport": 0, "decoded": 0}
    for entry in entries:
        if entry["type"] == "transport":
            totals["transport"] += int(entry["bytesSent"])
        elif entry["type"] == "inbound-rtp":
            totals["decoded"] += int(entry.get("framesDecoded", 0))
        elif entry["kind"] == "video":
            totals["video"] += int(entry["bytesSent"])
            totals["frames"] += int(entry["framesSent"])
            if int(entry["frameWidth"]) > totals["width"]:
                totals["width"], totals["height"] = (
                    int(entry["frameWidth"]),
                    int(entry["frameHeight"]),
                )
    return totals


def median_sent(figures: list[Sent]) -> Sent | None:
    """One line for many peers and rounds: the medians (the size most often sent)."""
    if not figures:
        return None
    sizes = [(f.width, f.height) for f in figures]
    width, height = max(set(sizes), key=sizes.count)
    videos = [f.video_kbps for f in figures if f.video_kbps is not None]
    return Sent(
        width=width,
        height=height,
        fps=statistics.median(f.fps for f in figures),
        video_kbps=statistics.median(videos) if videos else None,
        total_kbps=statistics.median(f.total_kbps for f in figures),
    )


class BrowserParticipant:
    """The console in Chromium, joined as the room's therapist; `close()` always ends it."""

    def __init__(
        self, server_url: str, token: str, clip: Path, profile: Path, env: dict[str, str]
    ) -> None:
        """`env`: Chromium's environment (PULSE_SERVER: it plays the call to the same sink)."""
        from playwright.sync_api import sync_playwright

        from tests.e2e.conftest import CHROMIUM_ARGS

        self._playwright = sync_playwright().start()
        self._context: Any = None
        self.page: Any = None
        try:
            args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={clip}"]
            launch_env: dict[str, str | float | bool] = dict(env)
            self._context = self._playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(CHROMIUM),
                headless=True,
                args=args,
                env=launch_env,
                viewport={"width": 1280, "height": 760},
                timeout=CALL_TIMEOUT_MS,
            )
            self.page = self._context.pages[0] if self._context.pages else self._context.new_page()
            self.page.add_init_script(INIT_SCRIPT)
            self.page.goto(f"{server_url}/console#token={token}", timeout=CALL_TIMEOUT_MS)
            self.page.click("#join-button", timeout=CALL_TIMEOUT_MS)
            self.page.wait_for_function(BOTH_PEERS_DECODED, timeout=CALL_TIMEOUT_MS, polling=200)
            root = find_process(f"--user-data-dir={profile}")
            if root is None:
                raise RuntimeError("Chromium's browser process was not found in /proc")
            self.root_pid = root
        except BaseException:
            self.close()
            raise

    def sent_stats(self) -> list[dict[str, Any]]:
        stats: list[dict[str, Any]] = self.page.evaluate(SENT_STATS)
        return stats

    def close(self) -> None:
        """Leave as a clinician does (the Leave button: the server frees the seat at once,
        where a vanished page's seat is held for its grace period), then end Chromium."""
        try:
            if self._context is not None and self.page is not None:
                try:
                    self.page.click("#leave-button", timeout=5_000)
                    self.page.wait_for_function(LEFT, timeout=5_000, polling=100)
                except Exception as error:  # not in a call, or the page is gone: close anyway
                    print(f"  browser: no clean leave ({type(error).__name__})")
            if self._context is not None:
                self._context.close()
        finally:
            self._context = None
            self._playwright.stop()
