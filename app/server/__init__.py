"""The session server (`tandem server`): speed test, rooms, tokens, signaling, console."""
