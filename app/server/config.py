"""The session server's settings, from the command line, a config file and the environment."""

from __future__ import annotations

import argparse
import os
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    # Signs join tokens. From TANDEM_SECRET; a random one is fine for practice mode only.
    secret: str = ""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServerConfig:
        return cls(
            host=args.host,
            port=args.port,
            secret=os.environ.get("TANDEM_SECRET", ""),
        )

    @classmethod
    def for_practice(cls) -> ServerConfig:
        """The embedded server of practice mode: loopback only, a throwaway secret."""
        return cls(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))
