"""A camera given as a source (a video file or a network camera's URL) instead of a device.

`tandem check --camera SRC`, `tandem gui --camera SRC` and the profile's `[devices] camera`
name one; the app lists it first among the cameras, by a name a person recognises, with any
password in the URL left out of what is shown.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from app.devices.base import DeviceInfo


def is_device_index(source: str) -> bool:
    return source.strip().isdigit()


def camera_source_name(source: str) -> str:
    """What the camera list shows for `source`: the file's name or the camera's host."""
    if "://" in source:
        try:
            parts = urlsplit(source)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            host, port = "", ""
        return f"Network camera ({host}{port})" if host else "Network camera"
    return f"Video file ({Path(source).name or source})"


def with_camera_source(cameras: list[DeviceInfo], source: str | None) -> list[DeviceInfo]:
    """The cameras found, with the given source first (a device index picks that camera)."""
    if source is None or not source.strip():
        return cameras
    if is_device_index(source):
        wanted = source.strip()
        chosen = [c for c in cameras if c.id == wanted]
        return chosen + [c for c in cameras if c.id != wanted]
    return [DeviceInfo(source, camera_source_name(source)), *cameras]
