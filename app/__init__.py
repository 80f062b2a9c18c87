"""Tandem: the couples' telehealth client (equipment check, shared video room, emergency connect)."""

__version__ = "0.1.0"
