"""`tandem check`: the equipment check without a window; prints the JSON report."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.checks.report import EquipmentReport
    from app.checks.result import CheckResult
    from app.checks.runner import CheckPlan
    from app.profile import ClinicProfile
    from app.progress import Progress

log = logging.getLogger(__name__)

HELP = (
    "run the equipment check headless and print the report (exit 0 ready, 1 warnings, 2 not ready)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    parser.add_argument(
        "--camera",
        metavar="SRC",
        default=None,
        help="camera index, or a video file or URL (default: the clinic profile's [devices] "
        "camera, else the first camera)",
    )
    parser.add_argument(
        "--mic",
        metavar="DEV",
        default=None,
        help="microphone: PortAudio device index or name (default: the system's)",
    )
    speaker = parser.add_mutually_exclusive_group()
    speaker.add_argument(
        "--speaker",
        metavar="DEV",
        default=None,
        help="speaker: PortAudio device index or name (default: the system's)",
    )
    speaker.add_argument("--no-speaker", action="store_true", help="skip the speaker check")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--server",
        metavar="URL",
        default=None,
        help="measure bandwidth against this session server (http[s]://host:port)",
    )
    where.add_argument(
        "--public",
        action="store_true",
        help="measure bandwidth against public speedtest.net servers",
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        metavar="PEM",
        help="a certificate authority to trust for the session server besides the system's (a "
        "clinic's own CA, in PEM; default: the clinic profile's ca_file)",
    )
    parser.add_argument(
        "--min-mbps",
        type=_positive_mbps,
        default=None,
        metavar="N",
        help="minimum Mbps each way (default: the clinic profile's, else 5)",
    )
    parser.add_argument(
        "--label",
        metavar="TEXT",
        default="",
        help="who the report is for (e.g. your names or initials); the report names nobody "
        "unless you give this",
    )
    parser.add_argument(
        "--note", metavar="TEXT", default="", help="a note for your clinic, put on the report"
    )


def _positive_mbps(text: str) -> float:
    """A minimum speed: a positive, finite number. float() takes "nan" (which every comparison
    passes) and "inf" (which nothing passes), and neither is a speed."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of Mbps, like 5 (got {text!r})"
        )
    return value


def run(args: argparse.Namespace) -> int:
    """Run the check; exit 0 ready, 1 ready with warnings, 2 not ready (or a bad profile)."""
    from app.profile import read_profile

    profile = read_profile(getattr(args, "profile", None))
    blocking = [p for p in profile.problems if _check_uses(p.setting)]
    for problem in profile.problems:
        if problem not in blocking:  # the check goes on without it, as the app does
            print(f"tandem check: warning: {problem.detail} (left out)", file=sys.stderr)
    if blocking:
        # Every setting to fix at once, not one per run.
        print("tandem check: the clinic profile cannot be used:", file=sys.stderr)
        for problem in blocking:
            print(f"  {problem.detail}", file=sys.stderr)
        return 2
    cancel = threading.Event()
    try:
        return _check(args, profile, cancel)
    except KeyboardInterrupt:
        cancel.set()
        print("\ntandem check: stopped (Ctrl-C); no report.", file=sys.stderr, flush=True)
        _exit_if_checks_still_run(130)
        return 130


def _check_uses(setting: str) -> bool:
    """Whether the check needs `setting` (the servers and the speeds; the file as a whole).
    The phone numbers and the clinic's name are for the app's crisis card: a bad one there is
    named, and the check goes on, as the app does."""
    return not setting.startswith(("phones", "clinic"))


def _exit_if_checks_still_run(code: int) -> None:
    """Leave at once if a check is still inside a device or network call.

    Interpreter shutdown while a thread is inside OpenCV or PortAudio can crash the process
    (PortAudio is terminated at exit under the thread using it). The user asked to stop, and
    the system frees the devices of a process that has ended.
    """
    if any(t.name.startswith("tandem-check-") and t.is_alive() for t in threading.enumerate()):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _check(args: argparse.Namespace, profile: ClinicProfile, cancel: threading.Event) -> int:
    from app.checks.report import MAX_TYPED_CHARS
    from app.checks.runner import CheckPlan, run_equipment_check

    min_dl = args.min_mbps if args.min_mbps is not None else profile.min_download_mbps
    min_ul = args.min_mbps if args.min_mbps is not None else profile.min_upload_mbps
    if min_dl <= 0 or min_ul <= 0:
        print("tandem check: --min-mbps must be a positive number", file=sys.stderr)
        return 2
    typed = {"--label": args.label.strip(), "--note": args.note.strip()}
    for option, text in typed.items():
        if len(text) > MAX_TYPED_CHARS:
            print(
                f"tandem check: {option} is limited to {MAX_TYPED_CHARS} characters",
                file=sys.stderr,
            )
            return 2
    plan = CheckPlan(
        couple_label=typed["--label"],
        note=typed["--note"],
        camera_source=args.camera if args.camera is not None else profile.camera_source,
        mic_device=_device(args.mic),
        speaker_device=_device(args.speaker),
        skip_speaker=args.no_speaker,
        speaker_skip_reason="Not checked (--no-speaker)",
        min_download_mbps=min_dl,
        min_upload_mbps=min_ul,
    )
    if args.server is not None and not _is_server_url(args.server):
        print(
            "tandem check: --server must be an address like https://host:port "
            f"(got {args.server!r})",
            file=sys.stderr,
        )
        return 2
    if args.ca_file is not None:
        from app.net.tls_trust import CaFileError, client_tls_context

        try:
            client_tls_context(args.ca_file)
        except CaFileError as exc:
            print(f"tandem check: --ca-file: {exc}", file=sys.stderr)
            return 2
    _load_quirky_libraries()
    progress = _print_progress if sys.stderr.isatty() else None
    with _bandwidth_target(args, profile, plan):
        report = run_equipment_check(plan, progress, cancel)
    if args.json:
        print(report.to_json_text())
    else:
        print(_summary(report))
    return report.exit_code


@contextlib.contextmanager
def _bandwidth_target(
    args: argparse.Namespace, profile: ClinicProfile, plan: CheckPlan
) -> Iterator[None]:
    """Point the plan's bandwidth check at --server, --public, the profile's server, or a
    practice server started here for the run (and stopped after it)."""
    from app.checks.report import PUBLIC_SERVER
    from app.net.bandwidth_probe import PublicSpeedtestProbe, SessionServerProbe

    url = args.server or profile.server_url
    plan.practice_mode = profile.practice_mode and not args.server and not args.public
    if args.public:
        plan.bandwidth_probe, plan.server = PublicSpeedtestProbe(), PUBLIC_SERVER
        yield
        return
    if url:
        probe = SessionServerProbe(url, ca_file=args.ca_file or profile.ca_file)
        plan.bandwidth_probe, plan.server = probe, url.rstrip("/")
        yield
        return
    from app.server.embedded import start_practice_server

    try:
        server = start_practice_server()
    except RuntimeError:
        log.exception("the practice server did not start")
        plan.known_results = {"bandwidth": _no_practice_server()}
        yield
        return
    try:
        plan.bandwidth_probe, plan.server = SessionServerProbe(server.url), server.url
        yield
    finally:
        server.stop()


def _load_quirky_libraries() -> None:
    """Import, before the checks' threads start, two libraries whose first import hides output.

    sounddevice points file descriptor 2 at /dev/null while PortAudio starts, and speedtest-cli
    is imported with sys.stdout/stderr swapped (app/net/bandwidth_probe.py). On a check's thread
    that would swallow whatever the main thread prints meanwhile (the Ctrl-C message, progress).
    """
    from app.devices.alsa_quiet import quiet_alsa
    from app.net.bandwidth_probe import import_speedtest

    quiet_alsa()  # "ALSA lib … underrun occurred" is not for the person reading the summary
    import_speedtest()
    try:
        import sounddevice  # noqa: F401
    except (OSError, ImportError):
        pass  # the microphone check says so in plain words


def _no_practice_server() -> CheckResult:
    from app.checks.result import CheckResult, Status

    return CheckResult(
        "bandwidth",
        Status.FAIL,
        "The internet connection could not be measured: the practice server did not start on "
        "this computer.",
        "Run the check again. If it happens again, ask the clinic for their server address "
        "and use --server.",
    )


def _is_server_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _device(value: str | None) -> str | int | None:
    """A PortAudio device: an index when the text is a number, else a name (or None)."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


_progress_lock = threading.Lock()


def _print_progress(update: Progress) -> None:
    # Called from the check's threads: one lock keeps lines whole.
    figure = f" ({update.figure})" if update.figure else ""
    with _progress_lock:
        print(
            f"  {update.check:<10} {update.fraction:4.0%}  {update.message}{figure}",
            file=sys.stderr,
            flush=True,
        )


STATUS_LABELS = {"pass": "OK", "warn": "WARNING", "fail": "PROBLEM", "skipped": "SKIPPED"}
VERDICT_LABELS = {
    "ready": "Ready for sessions.",
    "ready_with_warnings": "Ready, with warnings (see above).",
    "not_ready": "Not ready: fix the problems above, then run the check again.",
}


def _speeds(metrics: dict[str, Any]) -> str:
    down, up = metrics.get("download_mbps"), metrics.get("upload_mbps")
    if isinstance(down, int | float) and isinstance(up, int | float):
        estimated = metrics.get("upload_basis") == "sender_estimate"
        note = " (this computer's estimate)" if estimated else ""
        return f"{down:.1f} Mbps down, {up:.1f} Mbps up{note}."
    return ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?", ")")) else f"{text}."


def _summary(report: EquipmentReport) -> str:
    from app.checks.report import CHECK_NAMES

    data = report.to_json()
    lines = []
    for name in CHECK_NAMES:
        entry = data["checks"][name]
        label = STATUS_LABELS.get(entry["status"], entry["status"])
        text = _sentence(entry["reason"])
        if name == "bandwidth" and entry["status"] != "skipped":
            text = f"{_speeds(entry['metrics'])} {text}".strip()
        if entry["fix"]:
            text += f" What to do: {_sentence(entry['fix'])}"
        lines.append(f"{name:<11} {label:<8} {text}".rstrip())
    lines.append(f"Verdict: {VERDICT_LABELS[data['verdict']]}")
    return "\n".join(lines)
