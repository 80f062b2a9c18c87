"""Subcommands of the `tandem` command line (see app/cli.py for the contract)."""
