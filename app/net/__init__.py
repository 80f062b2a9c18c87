"""Network measurements (bandwidth, latency) with no Qt and no UI."""
