"""Every example in a docstring of src/tocsin runs and prints what it says (one stopped doing
so unnoticed: the group detector's, until the clean-up of issue 10)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import tocsin


def _with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tocsin.__path__, "tocsin."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, encoding="utf-8") as source:
            if ">>> " in source.read():
                names.append(info.name)
    return names


MODULES = _with_examples()


def test_there_are_examples_to_run() -> None:
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_print_what_they_say(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, name
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
