"""The equipment check: one module per check, each returning a CheckResult."""
