"""`tandem check`: the equipment check without a window; prints the JSON report."""

from __future__ import annotations

import argparse

HELP = "run the equipment check headless and print the report (exit 0 ready, 1 warnings, 2 not ready)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    parser.add_argument("--camera", metavar="SRC", default=None,
                        help="camera index, or a video file or URL (default: the first camera)")
    parser.add_argument("--mic", metavar="DEV", default=None,
                        help="microphone: PortAudio device index or name (default: the system's)")
    speaker = parser.add_mutually_exclusive_group()
    speaker.add_argument("--speaker", metavar="DEV", default=None,
                         help="speaker: PortAudio device index or name (default: the system's)")
    speaker.add_argument("--no-speaker", action="store_true", help="skip the speaker check")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", default=None,
                       help="measure bandwidth against this session server (http[s]://host:port)")
    where.add_argument("--public", action="store_true",
                       help="measure bandwidth against public speedtest.net servers")
    parser.add_argument("--min-mbps", type=float, default=None, metavar="N",
                        help="minimum Mbps each way (default: the clinic profile's, else 5)")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("tandem check is being built (issue 2)")
