"""`python -m app` does exactly what the `tandem` console script does."""

from app.cli import run

run()
