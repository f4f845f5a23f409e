"""The library's shape (DESIGN.md, "Layout"): one package of the same shape per chapter, data flowing one way,
and the results cache keyed by exactly what an experiment reads -- the config parts it takes and the code it can
reach."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import shutil
from pathlib import Path

import pytest

import dlgen_lib
from dlgen_lib.cache import cache_key, code_fingerprint, reachable_modules
from dlgen_lib.chapters import CHAPTERS
from dlgen_lib.config import scaled

LIB = Path(dlgen_lib.__file__).parent
ROOT = LIB.parent
NOT_EXPERIMENT_CODE = ("figures", "plotting", "widgets", "checks")


def test_every_chapter_has_a_notebook_and_a_package():
    notebooks = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert [f"ch{nb}" for nb in notebooks] == list(CHAPTERS)


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_package_has_the_same_shape(name):
    folder = LIB / "chapters" / name
    assert sorted(p.name for p in folder.glob("*.py")) == ["__init__.py", "experiments.py", "figures.py"]
    face = ast.parse((folder / "__init__.py").read_text())
    star = [n for n in ast.walk(face) if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)]
    assert not star, "the public face is written out: no star imports"
    (names,) = [n.value for n in face.body if isinstance(n, ast.Assign) and
                any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
    assert isinstance(names, ast.List) and all(isinstance(e, ast.Constant) for e in names.elts), \
        "__all__ is a literal list, readable by static tools"
    package = importlib.import_module(f"dlgen_lib.chapters.{name}")
    listed = [e.value for e in names.elts]
    assert "CONFIG" in listed and all(hasattr(package, n) for n in listed)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("name", CHAPTERS)
def test_experiments_reach_no_figure_code_and_no_other_chapter(name):
    reached = reachable_modules(f"dlgen_lib.chapters.{name}.experiments")
    assert f"dlgen_lib.chapters.{name}.experiments" in reached
    for module in reached:
        assert module.rsplit(".", 1)[-1] not in NOT_EXPERIMENT_CODE, f"{name}'s experiments reach {module}"
        assert not module.startswith("dlgen_lib.chapters.") or module.startswith(f"dlgen_lib.chapters.{name}."), \
            f"{name} imports another chapter: {module}"
    assert "dlgen_lib" not in reached, "the package's face (which imports everything) is not experiment code"


def _imported(path: Path) -> list[str]:
    """Every name an import statement of ``path`` mentions (modules and the names taken from them)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [node.module or ""] + [a.name for a in node.names]
    return found


@pytest.mark.parametrize("path", sorted(LIB.rglob("*.py")), ids=lambda p: str(p.relative_to(LIB)))
def test_data_flows_one_way(path):
    """Shared modules never import a chapter; a chapter never imports another."""
    rel = path.relative_to(LIB)
    own = rel.parts[1] if rel.parts[0] == "chapters" and len(rel.parts) > 2 else None
    for name in _imported(path):
        for other in CHAPTERS:
            assert other == own or not re.search(rf"\b{other}\b", name), f"{rel} imports the chapter {other}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_notebook_imports_its_chapter_the_same_way(name):
    nb = json.loads((ROOT / "chapters" / f"{name[2:]}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert f"from dlgen_lib.chapters import {name} as ch\n" in code + "\n"
    others = re.findall(r"dlgen_lib\.chapters\.?\w*|chapters import (\w+)", code)
    assert all(o in ("", name) for o in others), others


@pytest.mark.parametrize("name", CHAPTERS)
def test_cached_experiments_take_parts_never_the_whole_config(name):
    """An experiment is keyed by the parts it reads: changing another experiment's field cannot recompute it."""
    package = importlib.import_module(f"dlgen_lib.chapters.{name}")
    experiments = importlib.import_module(f"dlgen_lib.chapters.{name}.experiments")
    cached = [f for f in vars(experiments).values() if callable(f) and hasattr(f, "uncached")
              and f.__module__ == experiments.__name__]
    assert cached, f"{name} has no cached experiment"
    top = package.CONFIG.__name__
    for func in cached:
        for param in inspect.signature(func.uncached).parameters.values():
            assert top not in str(param.annotation), f"{func.__name__}({param.name}: {top}) takes the whole config"


def test_a_one_field_override_changes_the_key_of_that_experiment_only():
    from dlgen_lib.chapters import ch01_memorization as ch

    def keys(cfg):
        return {"corruption_sweep": cache_key(ch.corruption_sweep.uncached, cfg.net, cfg.split, cfg.corruption),
                "random_inputs": cache_key(ch.random_inputs.uncached, cfg.net, cfg.split, cfg.inputs),
                "regularized_memorization": cache_key(ch.regularized_memorization.uncached, cfg.net, cfg.split,
                                                      cfg.regularized),
                "regularizer_strengths": cache_key(ch.regularizer_strengths.uncached, cfg.net, cfg.strengths)}

    base = keys(scaled(ch.MemorizationConfig, "small"))
    one = keys(scaled(ch.MemorizationConfig, "small", corruption=dict(steps=3000)))
    assert [k for k in base if base[k] != one[k]] == ["corruption_sweep"]
    shared = keys(scaled(ch.MemorizationConfig, "small", net=dict(width=128)))
    assert all(base[k] != shared[k] for k in base), "a shared part is read by every experiment"


@pytest.fixture
def library_copy(tmp_path) -> Path:
    copy = tmp_path / "dlgen_lib"
    shutil.copytree(LIB, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


CH1 = "dlgen_lib.chapters.ch01_memorization.experiments"


@pytest.mark.parametrize("edited", ["chapters/ch01_memorization/figures.py", "plotting.py", "widgets.py",
                                    "checks.py", "chapters/ch02_loss_landscape/experiments.py", "__init__.py",
                                    "cache.py"])
def test_editing_what_an_experiment_cannot_reach_keeps_its_fingerprint(library_copy, edited):
    before = code_fingerprint(CH1, library_copy)
    _edit(library_copy / edited)
    assert code_fingerprint(CH1, library_copy) == before, f"retitling a figure must not recompute: {edited}"


@pytest.mark.parametrize("edited", ["chapters/ch01_memorization/experiments.py", "train.py", "models.py",
                                    "data.py", "config.py", "bounds.py"])
def test_editing_what_an_experiment_runs_changes_its_fingerprint(library_copy, edited):
    before = code_fingerprint(CH1, library_copy)
    _edit(library_copy / edited)
    assert code_fingerprint(CH1, library_copy) != before, f"an edit of {edited} must give a fresh computation"


def test_an_import_inside_a_function_is_followed(tmp_path):
    lib = tmp_path / "dlgen_lib"
    (lib / "chapters" / "chx").mkdir(parents=True)
    (lib / "helper.py").write_text("x = 1\n")
    (lib / "chapters" / "chx" / "experiments.py").write_text("def f():\n    from ...helper import x\n    return x\n")
    reached = reachable_modules("dlgen_lib.chapters.chx.experiments", lib)
    assert reached == ["dlgen_lib.chapters.chx.experiments", "dlgen_lib.helper"]
    before = code_fingerprint("dlgen_lib.chapters.chx.experiments", lib)
    (lib / "helper.py").write_text("x = 22\n")
    assert code_fingerprint("dlgen_lib.chapters.chx.experiments", lib) != before
