"""The build cache's key (installer/build.py): made of what the bundle is made of, and of nothing
the build itself writes, so an unchanged tree reuses its bundle and any real change rebuilds."""

from __future__ import annotations

from pathlib import Path

from installer.build import input_files, input_key


def tree(root: Path) -> Path:
    files = {
        "pyproject.toml": "[project]\n",
        "app/__init__.py": "__version__ = '1'\n",
        "app/server/console/index.html": "<html>\n",
        "resources/style.qss": "QWidget {}\n",
        "installer/tandem.spec": "# spec\n",
        "docs/protocol.md": "not an input\n",
        "tests/test_x.py": "not an input\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_the_inputs_are_the_sources_resources_installer_and_pyproject(tmp_path: Path) -> None:
    root = tree(tmp_path)
    for junk in ("installer/dist/tandem/tandem", "installer/build/x.toc", "app/__pycache__/a.pyc"):
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_bytes(b"output")
    names = [p.relative_to(root).as_posix() for p in input_files(root)]
    assert names == [
        "app/__init__.py",
        "app/server/console/index.html",
        "installer/tandem.spec",
        "pyproject.toml",
        "resources/style.qss",
    ]


def test_the_key_changes_with_any_input_and_only_with_inputs(tmp_path: Path) -> None:
    root = tree(tmp_path)
    first = input_key(root)
    assert input_key(root) == first
    (root / "docs/protocol.md").write_text("edited\n", encoding="utf-8")
    (root / "installer/dist").mkdir()
    (root / "installer/dist/tandem_1_amd64.deb").write_bytes(b"built")
    assert input_key(root) == first
    (root / "app/new_command.py").write_text("HELP = 'new'\n", encoding="utf-8")
    second = input_key(root)
    assert second != first
    (root / "resources/style.qss").write_text("QWidget { color: red; }\n", encoding="utf-8")
    third = input_key(root)
    assert third not in (first, second)
    shipped = tmp_path / "clinic-profile.toml"
    shipped.write_text('[clinic]\nname = "Riverside"\n', encoding="utf-8")
    assert input_key(root, profile=shipped) not in (first, second, third)
