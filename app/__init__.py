"""Tandem: the couples' telehealth client (equipment check, video room, emergency connect)."""

__version__ = "0.1.0"
