"""The test lab: root-only parts (network namespaces, tc shaping, nftables, PulseAudio)."""
