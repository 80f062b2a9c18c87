"""The call engine (Qt-free): joins a room, one peer connection per remote participant."""
