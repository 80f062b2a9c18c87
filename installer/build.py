"""`./dev.sh bundle`: freeze Tandem with PyInstaller (installer/tandem.spec), then make the .deb.

    python -m installer.build                    # installer/dist/tandem/ and the .deb beside it
    python -m installer.build --profile FILE     # ship a clinic's profile inside the app
    python -m installer.build --cache DIR        # CI: reuse DIR/<key>/ when no input changed

With --cache the bundle goes to DIR/<key>/, where the key is a hash of everything the bundle is
made from: app/, resources/, installer/, pyproject.toml, the Python and every installed package's
version. A finished entry is reused as it is; only the newest few are kept. The last line on
stdout is the folder holding `tandem/` and the .deb; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "tandem.spec"
INPUT_DIRS = ("app", "resources", "installer")
SKIPPED_PARTS = frozenset({"dist", "build", "__pycache__"})
DONE_FILE = "build-info.json"
KEEP_ENTRIES = 2
BUILD_TIMEOUT_S = 1800


def say(message: str) -> None:
    print(f"bundle: {message}", file=sys.stderr, flush=True)


def input_files(root: Path = ROOT) -> list[Path]:
    """Every file the bundle is made from (sorted), build output and bytecode left out."""
    files = [root / "pyproject.toml"]
    for name in INPUT_DIRS:
        for path in (root / name).rglob("*"):
            relative = path.relative_to(root)
            if SKIPPED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
                continue
            if path.is_file():
                files.append(path)
    return sorted(files)


def installed_packages() -> list[str]:
    """name==version of every package this Python has (PyInstaller and its hooks included)."""
    found = {
        f"{(dist.metadata['Name'] or '?').lower()}=={dist.version}"
        for dist in importlib.metadata.distributions()
    }
    return sorted(found)


def input_key(root: Path = ROOT, profile: Path | None = None) -> str:
    """A hash of the bundle's inputs: the same key means the same bundle. (The system libraries
    the bundle copies, such as PortAudio, are not in it: after upgrading them, clear the cache.)"""
    digest = hashlib.sha256()
    system = f"{sys.version} {sys.platform} {platform.machine()} {platform.libc_ver()}"
    digest.update(f"{system}\n".encode())
    if profile is not None:
        digest.update(b"profile\n" + profile.read_bytes())
    for package in installed_packages():
        digest.update(f"{package}\n".encode())
    for path in input_files(root):
        digest.update(f"{path.relative_to(root).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]


def folder_mb(folder: Path) -> float:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())
    return total / 1e6


def strip_python(bundle: Path) -> None:
    """Drop the debug symbols of Python's own binaries (libpython and the stdlib's extension
    modules: ~20 MB when Python was built from source). The wheels' libraries are left alone:
    they come stripped, and strip can break the ones auditwheel patched."""
    if not sys.platform.startswith("linux"):
        return
    strip = shutil.which("strip")
    if strip is None:
        say("no 'strip' here (binutils), so Python's debug symbols stay in")
        return
    targets = [p for p in bundle.rglob("libpython*.so*") if p.is_file() and not p.is_symlink()]
    targets += [p for p in bundle.rglob("lib-dynload/*.so") if p.is_file()]
    if targets:
        subprocess.run([strip, "--strip-debug", *map(str, targets)], check=True, timeout=300)


def run_pyinstaller(dist: Path, work: Path, profile: Path | None, icon_png: Path) -> None:
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
        "--distpath", str(dist), "--workpath", str(work), str(SPEC),
        "--", "--icon-png", str(icon_png),
    ]  # fmt: skip
    if profile is not None:
        command += ["--profile", str(profile.resolve())]
    # stdout is for the caller (the bundle's folder, last); PyInstaller's words go to stderr.
    subprocess.run(command, cwd=ROOT, check=True, timeout=BUILD_TIMEOUT_S, stdout=sys.stderr)


def build(
    out: Path, work: Path, profile: Path | None, deb_compression: str | None
) -> dict[str, object]:
    """Build into `out` (tandem/ and the .deb); returns the figures for build-info.json."""
    from app import __version__
    from installer.app_icon import render_png

    started = time.monotonic()
    icon_png = render_png(work / "tandem.png", 256)
    say(f"freezing Tandem {__version__} with PyInstaller (a minute or two)")
    run_pyinstaller(out, work / "pyinstaller", profile, icon_png)
    bundle = out / "tandem"
    strip_python(bundle)
    frozen_s = time.monotonic() - started
    info: dict[str, object] = {
        "version": __version__,
        "bundle": str(bundle),
        "bundle_mb": round(folder_mb(bundle), 1),
        "freeze_s": round(frozen_s, 1),
    }
    if deb_compression and sys.platform.startswith("linux") and shutil.which("dpkg-deb"):
        from installer.deb import build_deb

        say(f"making the .deb ({deb_compression})")
        deb = build_deb(bundle, out, __version__, icon_png=icon_png, compression=deb_compression)
        info["deb"] = str(deb)
        info["deb_mb"] = round(deb.stat().st_size / 1e6, 1)
    elif deb_compression:
        say("no dpkg-deb here, so no .deb (the bundle is complete without it)")
    info["total_s"] = round(time.monotonic() - started, 1)
    return info


@contextlib.contextmanager
def locked(cache: Path) -> Iterator[None]:
    """One build at a time per cache (two test runs at once would build the same entry)."""
    import fcntl  # POSIX only, like the cache itself (CI on Linux)

    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached_build(cache: Path, profile: Path | None, deb_compression: str | None) -> Path:
    key = input_key(profile=profile)
    entry = cache / key
    with locked(cache):
        if (entry / DONE_FILE).is_file():
            say(f"unchanged since the last build: reusing {entry}")
            return entry
        shutil.rmtree(entry, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="work-", dir=cache) as work:
            info = build(entry, Path(work), profile, deb_compression)
        info["key"] = key
        (entry / DONE_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        report(info)
        prune(cache, keep=entry)
    return entry


def prune(cache: Path, keep: Path) -> None:
    """Remove all but the newest KEEP_ENTRIES finished entries (each is ~0.5 GB)."""
    entries = [p for p in cache.iterdir() if p.is_dir() and (p / DONE_FILE).is_file()]
    entries.sort(key=lambda p: (p / DONE_FILE).stat().st_mtime, reverse=True)
    for old in entries[KEEP_ENTRIES:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in cache.glob("work-*"):  # left by a build that was killed
        shutil.rmtree(stale, ignore_errors=True)


def report(info: dict[str, object]) -> None:
    line = f"Tandem {info['version']}: bundle {info['bundle_mb']} MB in {info['freeze_s']} s"
    if "deb" in info:
        line += f"; {Path(str(info['deb'])).name} {info['deb_mb']} MB"
    say(f"{line} (total {info['total_s']} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev.sh bundle",
        description="Freeze Tandem into installer/dist/tandem/ and make the .deb beside it.",
    )
    parser.add_argument("--profile", type=Path, help="a clinic-profile.toml to ship in the app")
    parser.add_argument("--cache", type=Path, help="reuse or fill a build cache in this folder")
    parser.add_argument("--no-deb", action="store_true", help="the bundle only, no .deb")
    parser.add_argument(
        "--deb-compression",
        choices=("xz", "zstd"),
        default="xz",
        help="xz: the smallest .deb, minutes to pack (default); zstd: a third larger, seconds",
    )
    args = parser.parse_args(argv)
    deb_compression = None if args.no_deb else args.deb_compression
    if args.profile is not None and not args.profile.is_file():
        parser.error(f"--profile: no file at {args.profile}")
    try:
        if args.cache is not None:
            out = cached_build(args.cache.expanduser(), args.profile, deb_compression)
        else:
            out = INSTALLER / "dist"
            for old_bundle in ("tandem", "Tandem.app"):
                shutil.rmtree(out / old_bundle, ignore_errors=True)
            for old in out.glob("tandem_*.deb"):
                old.unlink()
            info = build(out, INSTALLER / "build", args.profile, deb_compression)
            report(info)
    except subprocess.CalledProcessError as exc:
        say(f"failed: {' '.join(map(str, exc.cmd[:4]))}… exited {exc.returncode} (output above)")
        return 1
    except subprocess.TimeoutExpired as exc:
        say(f"gave up after {exc.timeout:.0f} s: {' '.join(map(str, exc.cmd[:4]))}…")
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
