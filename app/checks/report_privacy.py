"""What of a check's metrics may go into the report the couple sends to their clinic.

The report promises "no names in it unless the user types them". Checks keep free text in their
metrics for the log (an error's `detail` can hold a device name such as "Jane's AirPods", a video
file's path under a home folder, or a stream URL with a password), so the report keeps only:

- figures (numbers, yes/no, "not measured"), which is what a clinic's IT reads;
- a few words from fixed vocabularies (`problem`: "busy", `upload_basis`: "received", …);
- a server as scheme://host:port, without user, password, path, query or fragment, where a
  join token or an API key would live.

Anything else is left out rather than guessed about: a new free-text metric stays private until
someone adds it here on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from app.checks.result import MetricValue

# String metrics whose values come from a fixed set of words in the code, never from outside.
WORD_METRICS = frozenset({"problem", "listen_problem", "upload_basis", "confirmed_by", "error"})
SERVER_METRICS = frozenset({"server"})
PUBLIC_SERVER = "public"

_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_WORD = re.compile(r"[a-z][a-z0-9_]{0,31}")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")


def report_metrics(metrics: Mapping[str, MetricValue]) -> dict[str, MetricValue]:
    """The metrics fit for the report: see the module docstring for what stays."""
    kept: dict[str, MetricValue] = {}
    for key, value in metrics.items():
        if not _KEY.fullmatch(key):
            continue
        if value is None or isinstance(value, bool | int | float):
            kept[key] = value
        elif key in WORD_METRICS and _WORD.fullmatch(value):
            kept[key] = value
        elif key in SERVER_METRICS and (server := report_server(value)) is not None:
            kept[key] = server
    return kept


def report_server(server: str | None) -> str | None:
    """A server as the report may show it: "public", scheme://host[:port], host[:port], or None.

    Credentials, paths and queries are dropped: a clinic may put a join token or a key there.
    """
    if server is None:
        return None
    text = server.strip()
    if text == PUBLIC_SERVER:
        return text
    if "://" not in text:  # a speed-test server's "host:port"
        return text if _HOST_PORT.fullmatch(text) else None
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not parts.scheme.isalpha() or not host:
        return None
    shown_host = f"[{host}]" if ":" in host else host
    if ":" not in host and not _HOST_PORT.fullmatch(host):
        return None
    return f"{parts.scheme.lower()}://{shown_host}" + (f":{port}" if port is not None else "")
