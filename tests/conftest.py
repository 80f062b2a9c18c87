"""Suite-wide settings: offscreen Qt, failing on unexpected warnings, the shared lab fixtures."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.media import VideoKind, write_video
from tests.lab.netns import NetLab
from tests.lab.pulse import PulseLab
from tests.lab.requirements import need_program, need_root

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ARTIFACTS = Path(
    os.environ.get("TANDEM_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")
)


OUR_LOGGER = "app"


def _is_under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


def _level_expected(record: logging.LogRecord) -> bool:
    """Whether the test set the record's own level on its logger (or an app.* ancestor).

    qutebrowser's rule (tests/helpers/logfail.py): `caplog.at_level(logging.WARNING, logger=...)`
    around a call says a warning from it is expected. The root logger does not count: its level
    is WARNING by default, which would excuse everything.
    """
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None and _is_under(logger.name, OUR_LOGGER):
        if logger.level != logging.NOTSET:
            return logger.level == record.levelno
        logger = logger.parent
    return False


class LogFailHandler(logging.Handler):
    """Collects WARNING-or-higher records from Tandem's own loggers that the test did not expect.

    Unlike qutebrowser's handler it does not raise inside emit(): records also come from the
    asyncio bridge thread and from code that catches broad exceptions, so an exception raised at
    the logging call would be lost or would break the code under test. The test fails afterwards.
    """

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__(logging.WARNING)
        self.allowed = allowed
        self.unexpected: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not _is_under(record.name, OUR_LOGGER):
            return
        if any(_is_under(record.name, name) for name in self.allowed) or _level_expected(record):
            return
        self.unexpected.append(record)


def _describe(record: logging.LogRecord) -> str:
    text = f"{record.levelname} {record.name} ({record.filename}:{record.lineno}"
    text += f", thread {record.threadName}): {record.getMessage()}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text


@pytest.fixture(autouse=True)
def fail_on_log_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test on a WARNING-or-higher record from an app.* logger it did not expect.

    A test expects them with @pytest.mark.allow_log_warnings("app.some.module") or by wrapping the
    call in caplog.at_level(logging.WARNING, logger="app.some.module"). Covers the test body and
    the teardown of function-scoped fixtures, in any thread of this process.
    """
    allowed: tuple[str, ...] = ()
    for marker in request.node.iter_markers("allow_log_warnings"):
        if not marker.args or not all(isinstance(name, str) for name in marker.args):
            pytest.fail(
                "allow_log_warnings needs the names of the loggers it allows", pytrace=False
            )
        allowed += marker.args
    handler = LogFailHandler(allowed)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if handler.unexpected:
        lines = "\n".join(_describe(record) for record in handler.unexpected)
        pytest.fail(
            "unexpected log records (if the test expects them, say so with "
            f"@pytest.mark.allow_log_warnings(<logger>) or caplog.at_level):\n{lines}",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Qt warnings while fixtures are torn down (windows closing, threads stopping) fail too.

    pytest-qt's qt_log_level_fail only looks at messages up to the end of the test body.
    """
    level_mark = item.get_closest_marker("qt_log_level_fail")
    level = level_mark.args[0] if level_mark else item.config.getini("qt_log_level_fail")
    if (
        level == "NO"
        or not item.config.pluginmanager.has_plugin("_qt_logging")
        or item.get_closest_marker("no_qt_log")
    ):
        return (yield)
    from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

    # pytest-qt's levels and ignore list, including the test's own qt_log_* markers.
    severity = {
        QtMsgType.QtDebugMsg: 0,
        QtMsgType.QtInfoMsg: 1,
        QtMsgType.QtWarningMsg: 2,
        QtMsgType.QtCriticalMsg: 3,
        QtMsgType.QtFatalMsg: 3,
    }
    threshold = ["DEBUG", "INFO", "WARNING", "CRITICAL"].index(level)
    patterns = list(item.config.getini("qt_log_ignore"))
    ignore_mark = item.get_closest_marker("qt_log_ignore")
    if ignore_mark:
        extend = ignore_mark.kwargs.get("extend", True)
        patterns = (patterns if extend else []) + list(ignore_mark.args)
    ignore = [re.compile(pattern) for pattern in patterns]
    seen: list[str] = []

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if severity[kind] >= threshold and not any(p.search(message) for p in ignore):
            seen.append(f"{kind.name}: {message}")

    previous = qInstallMessageHandler(handler)
    try:
        result = yield
    finally:
        qInstallMessageHandler(previous)
    if seen:
        pytest.fail("Qt warnings during teardown:\n" + "\n".join(seen), pytrace=False)
    return result


@pytest.fixture(scope="session", autouse=True)
def server_data_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`tandem server` keeps its emergency records in the user's data folder by default
    (platformdirs, which follows XDG_DATA_HOME): every server a test starts, here or in a
    subprocess, keeps them in a temporary folder instead of the home of whoever runs the tests."""
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = previous


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and reports written by tests for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    """A fresh network lab (root only); every namespace it made is removed afterwards."""
    need_root()
    need_program("ip")
    need_program("tc")
    need_program("nft")
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseLab]:
    """A private PulseAudio daemon (root only): virtual sink and microphone (tests/lab/pulse.py)."""
    need_root()
    need_program("pulseaudio")
    need_program("pactl")
    need_program("paplay")
    lab = PulseLab(tmp_path / "pulse")
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def video_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a test video into tmp_path: video_file("pattern" | "black" | "frozen", fps=…)."""

    def make(kind: VideoKind = "pattern", **options: Any) -> Path:
        return write_video(tmp_path / f"{kind}.avi", kind, **options)

    return make
