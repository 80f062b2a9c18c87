"""`desktop_call.py --compare-browser`: the desktop app and headless Chromium, alternately, as the
therapist in the same three-party call, each measured from outside through /proc.

The session server runs in this process (measured for neither side: in a real call it is on the
clinic's machine); the two partners are `tandem join --headless` subprocesses for the whole run.
Rounds alternate app, browser, app, browser… so the shared machine's noise falls on both alike.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browser_side import BrowserParticipant, Sent, median_sent, received_fps, sent_per_peer
from desktop_call import (
    READY_TIMEOUT_S,
    ROOM,
    TARGET_BITRATE_VS_BROWSER,
    TARGET_COMPARE_CPU_PCT,
    TARGET_CPU_VS_BROWSER,
    TARGET_PSS_MB,
    TOKEN_ENV,
    JsonLines,
    start_peers,
    start_speaker,
    stop_process,
    write_clip,
)
from proc_usage import TreeUsage

SCRIPT = Path(__file__).resolve().parent / "desktop_call.py"


@dataclass(frozen=True)
class Round:
    side: str  # "app" | "browser"
    cpu_pct: float
    pss_mb: float
    sent: list[Sent]
    remote_fps: list[float]
    processes: int  # in the measured tree
    playing: int | None  # audio streams into the PulseAudio sink (None: no PulseAudio)


class Context:
    def __init__(
        self,
        server_url: str,
        secret: str,
        clip: Path,
        base: Path,
        speaker: str,
        env: dict[str, str],
        lab: Any,
    ) -> None:
        self.server_url, self.secret, self.clip, self.base = server_url, secret, clip, base
        self.speaker, self.speaker_env, self.lab = speaker, env, lab
        self.count = 0

    def playing(self) -> int | None:
        """Streams playing into the virtual speaker now: each side must play the call."""
        if self.lab is None:
            return None
        return len(self.lab.pactl("list", "short", "sink-inputs", check=False).splitlines())

    def token(self) -> str:
        from app.server.tokens import mint_token

        self.count += 1
        return mint_token(self.secret, ROOM, "therapist", f"Dr. Bench {self.count}", 3600)


def app_round(ctx: Context, seconds: float, warmup: float) -> Round | None:
    argv = [sys.executable, str(SCRIPT), "--app-child", "--server", ctx.server_url]
    argv += ["--clip", str(ctx.clip), "--speaker", ctx.speaker]
    argv += ["--seconds", str(seconds), "--warmup", str(warmup)]
    env = {**os.environ, **ctx.speaker_env, TOKEN_ENV: ctx.token(), "QT_QPA_PLATFORM": "offscreen"}
    log_path = ctx.base / f"app-{ctx.count}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert proc.stdout is not None
            lines = JsonLines(proc.stdout)
            if lines.wait_for("ready", READY_TIMEOUT_S) is None:
                print(f"  app: no call within {READY_TIMEOUT_S:.0f} s; its log ends:")
                print_tail(log_path)
                return None
            time.sleep(warmup)  # the child warms up the same while
            usage = TreeUsage(proc.pid)
            usage.start(time.monotonic())
            playing = ctx.playing()
            time.sleep(seconds)
            cpu_pct, pss = usage.stop(time.monotonic())
            message = lines.wait_for("result", 30.0)
            if message is None:
                print("  app: no result; its log ends:")
                print_tail(log_path)
                return None
            result: dict[str, Any] = message["result"]
            sent = [Sent(**figures) for figures in result["sent"]]
            fps = list(result["remote_fps"])
            return Round("app", cpu_pct, pss / 1024, sent, fps, usage.processes, playing)
        finally:
            stop_process(proc)


def print_tail(path: Path, lines: int = 25) -> None:
    for line in path.read_text(errors="replace").splitlines()[-lines:]:
        print(f"    {line}")


def browser_round(ctx: Context, seconds: float, warmup: float) -> Round | None:
    token = ctx.token()
    try:
        profile = ctx.base / f"chromium-{ctx.count}"
        env = {**os.environ, **ctx.speaker_env}
        browser = BrowserParticipant(ctx.server_url, token, ctx.clip, profile, env)
    except Exception as error:  # a page timeout, Chromium missing: said, not a traceback
        print(f"  browser: no call ({type(error).__name__}: {str(error).splitlines()[0][:200]})")
        return None
    try:
        time.sleep(warmup)
        before = browser.sent_stats()
        usage = TreeUsage(browser.root_pid)
        t0 = time.monotonic()
        usage.start(t0)
        playing = ctx.playing()
        time.sleep(seconds)
        t1 = time.monotonic()
        cpu_pct, pss = usage.stop(t1)
        after = browser.sent_stats()
        sent = sent_per_peer(before, after, t1 - t0)
        fps = received_fps(before, after, t1 - t0)
        return Round("browser", cpu_pct, pss / 1024, sent, fps, usage.processes, playing)
    finally:
        browser.close()


def compare(rounds: int, seconds: float, warmup: float) -> int:
    from app.server.config import ServerConfig
    from app.server.embedded import EmbeddedServer

    if not Path("/usr/bin/chromium").exists():
        print("no Chromium at /usr/bin/chromium (apt-get install chromium)")
        return 1
    done: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as folder:
        base = Path(folder)
        clip = write_clip(base)
        speaker, lab, speaker_env = start_speaker(base)
        server = EmbeddedServer(ServerConfig.for_practice())
        server.start(timeout=15)
        peers = start_peers(
            server.url, server.config.secret, (("partner", "Alex"), ("partner", "Sam"))
        )
        try:
            ctx = Context(server.url, server.config.secret, clip, base, speaker, speaker_env, lab)
            for number in range(1, rounds + 1):
                for side, run in (("app", app_round), ("browser", browser_round)):
                    print(f"round {number}/{rounds}: {side}…", flush=True)
                    measured = run(ctx, seconds, warmup)
                    if measured is None:
                        return 1
                    print(f"  {describe(measured)}", flush=True)
                    done.append(measured)
        finally:
            for peer in peers:
                stop_process(peer)
            server.stop()
            if lab is not None:
                lab.close()
    return report(done, rounds, seconds, speaker)


def describe(measured: Round) -> str:
    sent = median_sent(measured.sent)
    rate = "" if sent is None else f", sent {sent_words(sent)}"
    shown = "/".join(f"{fps:.1f}" for fps in measured.remote_fps)
    playing = "" if measured.playing is None else f", {measured.playing} audio stream(s) playing"
    return (
        f"CPU {measured.cpu_pct:.1f} % ({measured.processes} processes), "
        f"PSS {measured.pss_mb:.0f} MB{rate}; received fps {shown}{playing}"
    )


def sent_words(sent: Sent) -> str:
    video = "" if sent.video_kbps is None else f" (video {sent.video_kbps:.0f})"
    return f"{sent.width}x{sent.height}@{sent.fps:.0f} {sent.total_kbps:.0f} kbit/s{video}"


def report(done: list[Round], rounds: int, seconds: float, speaker: str) -> int:
    app = [r for r in done if r.side == "app"]
    browser = [r for r in done if r.side == "browser"]
    app_cpu = statistics.median(r.cpu_pct for r in app)
    browser_cpu = statistics.median(r.cpu_pct for r in browser)
    app_pss = statistics.median(r.pss_mb for r in app)
    browser_pss = statistics.median(r.pss_mb for r in browser)
    app_sent = median_sent([s for r in app for s in r.sent])
    browser_sent = median_sent([s for r in browser for s in r.sent])
    print()
    print(f"3-party call, the therapist's side measured: median of {rounds} x {seconds:.0f} s each")
    print(f"(camera: the talking-head clip, 640x360@15, both sides; app's speaker: {speaker})")
    print(f"{'':<26}{'CPU % core':>11}{'PSS MB':>9}  sent per peer (median; kbit/s all media)")
    for name, cpu, pss, sent in (
        ("desktop app", app_cpu, app_pss, app_sent),
        ("headless Chromium", browser_cpu, browser_pss, browser_sent),
    ):
        print(f"{name:<26}{cpu:>11.1f}{pss:>9.0f}  {'-' if sent is None else sent_words(sent)}")
    ratio = app_cpu / browser_cpu if browser_cpu > 0 else float("inf")
    rate_ratio = None
    if app_sent is not None and browser_sent is not None and browser_sent.total_kbps > 0:
        rate_ratio = app_sent.total_kbps / browser_sent.total_kbps
    print(
        f"app / browser: CPU {ratio:.2f}, PSS {app_pss / max(browser_pss, 1e-9):.2f}, bitrate "
        + ("-" if rate_ratio is None else f"{rate_ratio:.2f}")
    )
    checks = [
        (f"app CPU <= {TARGET_CPU_VS_BROWSER} x Chromium's", ratio <= TARGET_CPU_VS_BROWSER),
        (
            f"app CPU <= {TARGET_COMPARE_CPU_PCT:.0f} % of one core",
            app_cpu <= TARGET_COMPARE_CPU_PCT,
        ),
        (f"app PSS <= {TARGET_PSS_MB:.0f} MB", app_pss <= TARGET_PSS_MB),
        # Issue 12's concern was the app sending 5-7x the browser's bits for the same picture,
        # so the target bounds it from above. Sending fewer is not a miss, but it does make the
        # app's side cheaper (fewer packets to encrypt and send): the ratio is printed above,
        # and benchmarks/picture_quality.py measures what the fewer bits cost the picture.
        (
            f"app bitrate per peer <= {TARGET_BITRATE_VS_BROWSER}x Chromium's",
            rate_ratio is not None and rate_ratio <= TARGET_BITRATE_VS_BROWSER,
        ),
    ]
    for words, ok in checks:
        print(f"  {words}: {'met' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok in checks) else 2
