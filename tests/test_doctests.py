"""The examples in the library's docstrings run and print what they show (a docstring example that rotted would
teach the wrong thing)."""

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import dlgen_lib

matplotlib.use("Agg")

MODULES = sorted(m.name for m in pkgutil.walk_packages(dlgen_lib.__path__, "dlgen_lib."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see above)"
