"""`tandem join --headless`: a call participant without Qt, one JSON event per line on stdout."""

from __future__ import annotations

import argparse

HELP = "join a room without a window and print one JSON event per line"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", required=True,
                        help="run without a window (the only mode for now)")
    parser.add_argument("--server", required=True, metavar="URL",
                        help="session server base URL (http[s]://host:port)")
    parser.add_argument("--token", required=True, help="join token (tandem token)")
    parser.add_argument("--camera", metavar="SRC", default="pattern",
                        help="camera index, a video file, or 'pattern' for a moving test pattern")
    parser.add_argument("--mic", metavar="SRC", default="tone",
                        help="microphone device, an audio file, or 'tone' for a test tone")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="leave after S seconds (default: stay until interrupted)")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("tandem join is being built (issue 3)")
