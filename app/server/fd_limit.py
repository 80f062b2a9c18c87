"""The process's open-files limit: raised at start where the OS allows, and the headroom kept.

Every connection is a file descriptor. When accept() fails with EMFILE, Python 3.11's asyncio logs
a traceback for every pending connection of the listen backlog, again each second, and /health
stops answering. So the server refuses connections (with a 503) while it still has descriptors
to spare, counting its open connections against the limit instead of waiting for the error.
"""

from __future__ import annotations

import logging

try:
    import resource
except ImportError:  # Windows: no RLIMIT_NOFILE; the connection caps still apply
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# Where the hard limit is "unlimited" (macOS), ask for this much instead: the kernel refuses more.
_UNLIMITED_TARGET = 65536
# Descriptors kept for everything that is not a client connection: the listening sockets, log
# files, the console's static files being sent, DNS lookups. A tenth of the limit, at least 64,
# also leaves the desktop app (which embeds the server for practice mode) its own share.
MIN_HEADROOM = 64
# Sockets the accept loop takes per wake-up (app/server/acceptor.py). Each may close an older
# one to make room, and a closed socket's descriptor is freed only on the loop's next turn: so
# one burst's worth is kept free as well. Small, so that a connection admitted in one burst has
# sent its request before many bursts later could close it to make room.
ACCEPT_BURST = 16


def soft_limit() -> int | None:
    """The soft RLIMIT_NOFILE, or None where there is none to read."""
    if resource is None:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_soft_limit() -> int | None:
    """Raise the soft open-files limit to the hard one (an unprivileged process may); return it.

    A failure is not fatal: the server runs with the limit it has and caps connections below it.
    Said at DEBUG (`tandem -v server`): scripts read the server's first line for its address.
    """
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.debug("could not raise the open-files limit from %d to %d: %s", soft, target, exc)
        else:
            log.debug("open-files limit raised from %d to %d", soft, target)
    return soft_limit()


def connection_ceiling(limit: int | None) -> int | None:
    """How many client connections fit under an open-files `limit` with headroom kept."""
    if limit is None:
        return None
    return max(1, limit - max(MIN_HEADROOM, limit // 10) - ACCEPT_BURST)
