"""The words the couple reads name only things that exist.

Reasons, fixes and notes once sent people to a “Check again” button, to “Tandem's settings” and to
a support line that Tandem does not have, and promised a check of “about a minute” that takes
about 8 s. This reads every string literal in the modules that write such texts (docstrings
aside) and fails on those phrases, and on a quoted control name (“Run again”) that no button has.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [*(ROOT / "app" / "checks").glob("*.py"), ROOT / "app" / "profile.py"]
    + list((ROOT / "app" / "ui").glob("*.py"))
)

# Each phrase, and why it is wrong.
KNOWN_BAD = {
    r"[“\"']check again[”\"']|press\s+check again": (
        "there is no “Check again” button: it is “Run again” (or say “run the check again”)"
    ),
    r"tandem'?s settings|tandem settings|settings (page|screen|window|tab)": (
        "Tandem has no settings page: name the Camera, Microphone or Speaker list, or the "
        "computer's own settings"
    ),
    r"\bpreferences\b|\bmenu\b": "Tandem has no menus or preferences window",
    r"\b(about|takes|within|under|less than|only) a minute\b": (
        "the whole equipment check takes about 8 s"
    ),
    r"support line": "Tandem knows the clinic's phone number, not a support line",
    r"call 911": "the emergency number comes from the clinic profile",
}


def user_texts(path: Path) -> list[str]:
    """Every string literal in the module except docstrings; f-strings with {} for each value."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    texts: list[str] = []
    inside_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstrings.add(id(value))
                parts.append(value.value if isinstance(value, ast.Constant) else "{}")
            texts.append("".join(str(p) for p in parts))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inside_fstrings
        ):
            texts.append(node.value)
    return texts


def button_labels() -> set[str]:
    """What the app's buttons say: the text given to QPushButton(...) or a button's setText."""
    labels: set[str] = set()
    for path in (ROOT / "app" / "ui").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in {"QPushButton", "setText", "setAccessibleName"}:
                continue
            for arg in node.args[:1]:
                for part in ast.walk(arg):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        labels.add(part.value.replace("&", ""))
    return labels


def problems_in(path: Path) -> list[str]:
    found = []
    for text in user_texts(path):
        for pattern, why in KNOWN_BAD.items():
            if re.search(pattern, text, re.IGNORECASE):
                found.append(f"{text!r}: {why}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_text_names_a_control_or_promise_that_does_not_exist(path: Path) -> None:
    assert problems_in(path) == []


def test_every_quoted_control_name_is_a_real_button() -> None:
    labels = button_labels()
    assert {"Run again", "Check my equipment", "Get help now"} <= labels
    quoted = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in SOURCES
        for text in user_texts(path)
        for name in re.findall(r"“([^”]+)”", text)
    }
    assert quoted, "no quoted control names found: the scan is not reading the texts"
    assert {(where, name) for where, name in quoted if name not in labels} == set()


@pytest.mark.parametrize(
    "text",
    [
        "Then press “Check again”.",
        "make sure the right microphone is chosen in Tandem's settings.",
        "It takes about a minute.",
        "please call the clinic's support line.",
        "If you are in immediate danger, call 911.",
        "Open the Settings page.",
    ],
)
def test_the_scan_catches_the_phrases_it_is_meant_to(text: str, tmp_path: Path) -> None:
    module = tmp_path / "words.py"
    module.write_text(f'"""Docstrings may say anything: call 911."""\n\nFIX = {text!r}\n')
    assert len(problems_in(module)) == 1


def test_the_real_fixes_still_pass_the_scan(tmp_path: Path) -> None:
    module = tmp_path / "words.py"
    module.write_text(
        'A = "Then run the check again."\n'
        'B = "Open your computer\'s privacy settings and allow Tandem to use the camera."\n'
        'C = f"If you are in immediate danger, call {number}."\n'
    )
    assert problems_in(module) == []
