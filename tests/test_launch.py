"""Launching a chapter: the install cell of Colab is at the top of every chapter, does nothing where the library is
installed, and where it is missing clones the course named in _config.yml and installs the library from it."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import launch_cell  # noqa: E402


@pytest.mark.parametrize("path", launch_cell.chapters(), ids=lambda p: p.stem)
def test_every_chapter_starts_with_the_launch_cell(path):
    nb = nbformat.read(path, as_version=4)
    i = launch_cell.first_code_cell(nb)
    assert nb.cells[i].source == launch_cell.cell_source(), f"run python tools/launch_cell.py ({path.name})"
    assert "remove-cell" in nb.cells[i].metadata.get("tags", [])
    assert all("import dlgen_lib" not in c.source for c in nb.cells[:i])


def test_the_cell_clones_the_course_of_the_config():
    assert launch_cell.repository_url() in launch_cell.cell_source()
    assert launch_cell.repository_url().startswith("https://github.com/")


def _run_cell(monkeypatch, installed: bool) -> tuple[list, list]:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    if not installed:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "dlgen_lib"
                            else real(name, *a))
    path = list(sys.path)
    monkeypatch.setattr(sys, "path", path)
    exec(compile(launch_cell.cell_source(), "launch-cell", "exec"), {})
    return calls, path


def test_the_cell_is_a_no_op_where_the_library_is_installed(monkeypatch):
    before = list(sys.path)
    calls, path = _run_cell(monkeypatch, installed=True)
    assert calls == [] and path == before


def test_the_cell_installs_the_library_where_it_is_missing(monkeypatch):
    calls, path = _run_cell(monkeypatch, installed=False)
    (clone, kw1), (pip, kw2) = calls
    assert clone == ["git", "clone", "--depth", "1", launch_cell.repository_url(), "dlgen-course"]
    assert pip == [sys.executable, "-m", "pip", "install", "--quiet", "-e", "dlgen-course"]
    assert kw1 == kw2 == {"check": True}  # a failed clone or install stops the notebook there
    assert path[0] == "dlgen-course"


def test_check_mode_reports_a_chapter_without_the_cell(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import dlgen_lib")])
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setattr(launch_cell, "chapters", lambda: [path])
    assert launch_cell.main(["--check"]) == 1
    assert launch_cell.main([]) == 0 and launch_cell.main(["--check"]) == 0
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source.startswith(launch_cell.MARK) for c in cells] == [True, False]
