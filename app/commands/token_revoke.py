"""`tandem token revoke`: put a leaked token's id on the server's revocation list."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _fail(message: str) -> int:
    print(f"tandem token revoke: {message}", file=sys.stderr)
    return 2


def _list_path(args: argparse.Namespace) -> Path | None:
    from app.server.config import revoked_tokens_from

    if args.file:
        return Path(args.file)
    config = args.revoke_config or args.config
    return revoked_tokens_from(config) if config else None


def revoke(args: argparse.Namespace) -> int:
    """Exit 0 when the id is on the list (added now or before), 2 when it cannot be."""
    from app.server.config import ConfigError
    from app.server.revocation import REVOCATION_POLL_S, RevocationError, append_revoked
    from app.server.tokens import token_id

    try:
        path = _list_path(args)
    except ConfigError as exc:
        return _fail(str(exc))
    if path is None:
        return _fail(
            "which list? pass --config with the server's config file (its [server] "
            "revoked_tokens names the list) or --file with the list itself"
        )
    if args.jti is not None:
        jti = args.jti.strip()
    else:
        text = sys.stdin.read() if args.token == "-" else args.token
        try:
            jti = token_id(text)
        except ValueError as exc:
            return _fail(str(exc))
    try:
        added = append_revoked(path, jti)
    except RevocationError as exc:
        return _fail(str(exc))
    state = "revoked" if added else "was already revoked"
    print(
        f"token {jti} {state} in {path}; a server reading this list refuses it from the next "
        f"join and removes whoever uses it within {REVOCATION_POLL_S:g} s",
        file=sys.stderr,
    )
    return 0
