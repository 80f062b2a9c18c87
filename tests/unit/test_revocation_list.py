"""The revocation list file (app/server/revocation.py) and `tandem token revoke`."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from app.cli import main
from app.server.revocation import (
    RevocationError,
    RevocationList,
    append_revoked,
    parse_revoked,
)
from app.server.tokens import mint_token, verify_token

SECRET = "unit-test-secret-0123456789abcdef"


def test_parse_skips_comments_and_blank_lines_and_names_bad_ones() -> None:
    text = "# withdrawn codes\nabc\n\n  def_-9  # leaked 2025-01-02\nnot an id\nabc\n"
    ids, bad = parse_revoked(text)
    assert ids == {"abc", "def_-9"}
    assert bad == [5]


def test_no_file_configured_revokes_nothing() -> None:
    revoked = RevocationList(None)
    assert revoked.refresh() is False
    assert "abc" not in revoked


def test_a_missing_file_is_an_empty_list_until_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "revoked.txt"
    revoked = RevocationList(path)
    assert revoked.refresh() is False and not revoked.ids
    append_revoked(path, "abc")
    assert revoked.refresh() is True
    assert "abc" in revoked
    assert revoked.refresh() is False  # unchanged: not read again


def test_every_change_is_seen_and_a_removed_line_lets_the_token_back(tmp_path: Path) -> None:
    path = tmp_path / "revoked.txt"
    path.write_text("abc\n")
    revoked = RevocationList(path)
    revoked.refresh()
    append_revoked(path, "def")
    assert revoked.refresh() is True and revoked.ids == {"abc", "def"}
    # Replaced by an editor's save (a new inode), even with the same size and time.
    stat = path.stat()
    replacement = tmp_path / "new.txt"
    replacement.write_text("xyz\ndef\n")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replacement.replace(path)
    assert revoked.refresh() is True and revoked.ids == {"xyz", "def"}
    path.unlink()
    assert revoked.refresh() is True and not revoked.ids


@pytest.mark.allow_log_warnings("app.server.revocation")
def test_an_unreadable_file_keeps_the_last_list(tmp_path: Path) -> None:
    path = tmp_path / "revoked.txt"
    path.write_text("abc\n")
    revoked = RevocationList(path)
    revoked.refresh()
    path.unlink()
    path.mkdir()  # a folder where the file was: stat works, reading does not
    assert revoked.refresh() is False
    assert "abc" in revoked


def test_append_is_idempotent_and_keeps_lines_whole(tmp_path: Path) -> None:
    path = tmp_path / "revoked.txt"
    path.write_text("abc")  # no newline at the end (written by hand)
    assert append_revoked(path, "def", now=0.0) is True
    assert append_revoked(path, "def") is False
    assert path.read_text() == "abc\ndef  # revoked 1970-01-01T00:00:00Z\n"


@pytest.mark.parametrize("jti", ["", "has space", "a#b", "x" * 65])
def test_append_refuses_what_is_not_an_id(tmp_path: Path, jti: str) -> None:
    with pytest.raises(RevocationError, match="not a token id"):
        append_revoked(tmp_path / "revoked.txt", jti)


def test_append_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(RevocationError, match="cannot write"):
        append_revoked(tmp_path / "no" / "revoked.txt", "abc")


# `tandem token revoke`


def _revoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["token", "revoke", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_revoke_by_id_into_the_list_the_server_config_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listed = tmp_path / "revoked.txt"
    config = tmp_path / "server.toml"
    config.write_text(f'[server]\nrevoked_tokens = "{listed}"\n')
    code, err = _revoke(capsys, "--jti", "abc", "--config", str(config))
    assert code == 0 and "revoked" in err
    assert parse_revoked(listed.read_text())[0] == {"abc"}
    code, err = _revoke(capsys, "--jti", "abc", "--config", str(config))
    assert code == 0 and "already" in err


def test_revoke_by_token_from_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = mint_token(SECRET, "r", "partner", "Sam", 60)
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    listed = tmp_path / "revoked.txt"
    assert _revoke(capsys, "--token", "-", "--file", str(listed))[0] == 0
    assert parse_revoked(listed.read_text())[0] == {verify_token(SECRET, token).jti}


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--jti", "abc"], "which list"),
        (["--jti", "a b", "--file", "LIST"], "not a token id"),
        (["--token", "not-a-token", "--file", "LIST"], "not a join token"),
        (["--jti", "abc", "--file", "MISSING/revoked.txt"], "cannot write"),
    ],
)
def test_revoke_refusals_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], words: str
) -> None:
    argv = [a.replace("LIST", str(tmp_path / "l.txt")) for a in argv]
    argv = [a.replace("MISSING", str(tmp_path / "missing")) for a in argv]
    code, err = _revoke(capsys, *argv)
    assert code == 2 and words in err, err


def test_revoke_needs_an_id_or_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "revoke", "--file", "x"])
    assert exited.value.code == 2
