"""One exception tree: every exception the project defines derives from NewsletterError.

The modules of ``dispatcher`` and ``subscribers`` are all imported and every
exception class defined in them is checked, so a new ``class X(Exception)``
anywhere fails here; the tree drawn in ``dispatcher.errors`` must name it too.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import dispatcher
import dispatcher.errors
import subscribers
import subscribers.errors
from subscribers.errors import NewsletterError


def _modules() -> list[ModuleType]:
    found = []
    for package in (dispatcher, subscribers):
        found.append(package)
        prefix = package.__name__ + "."
        for info in pkgutil.walk_packages(package.__path__, prefix):
            found.append(importlib.import_module(info.name))
    return found


def _defined_exceptions() -> list[type[BaseException]]:
    """Every exception class whose home is a module of the project."""
    classes = {}
    for module in _modules():
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                classes[f"{value.__module__}.{value.__qualname__}"] = value
    return list(classes.values())


DEFINED = _defined_exceptions()


def test_the_walk_finds_the_strays_of_old() -> None:
    # The classes that once derived from bare Exception; if the walk missed them
    # the test below would pass for the wrong reason.
    names = {cls.__name__ for cls in DEFINED}
    assert {"LoginRequired", "SessionLost", "RateLimited", "ClaimLostError"} <= names
    assert len(DEFINED) > 30


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_exception_derives_from_the_root(cls: type[BaseException]) -> None:
    assert issubclass(cls, NewsletterError)


@pytest.mark.parametrize("module", [dispatcher.errors, subscribers.errors])
def test_the_error_modules_hold_only_tree_classes(module: ModuleType) -> None:
    exported = [v for v in vars(module).values() if inspect.isclass(v)]
    errors = [cls for cls in exported if issubclass(cls, BaseException)]
    assert errors
    assert all(issubclass(cls, NewsletterError) for cls in errors)


def test_dispatcher_errors_reexports_the_subscribers_branch() -> None:
    ours = {
        name
        for name, value in vars(subscribers.errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
    }
    assert ours <= set(dispatcher.errors.__all__)
    assert dispatcher.errors.__all__ == sorted(dispatcher.errors.__all__)
    for name in dispatcher.errors.__all__:
        assert getattr(dispatcher.errors, name) is not None


def test_the_drawn_tree_names_every_class_under_its_parent() -> None:
    drawing = dispatcher.errors.__doc__ or ""
    drawn = _parents_in_drawing(drawing)
    for cls in DEFINED:
        assert cls.__name__ in drawn, f"{cls.__name__} is missing from the tree"
        parent = drawn[cls.__name__]
        if parent is not None:
            assert parent in {base.__name__ for base in cls.__mro__[1:]}, cls.__name__


def _parents_in_drawing(drawing: str) -> dict[str, str | None]:
    """Each class name drawn in the docstring, with the class drawn as its parent."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in drawing.splitlines():
        match = re.match(r"^    [│├└─ ]*([A-Z][A-Za-z]+)(?:\s{2,}|$)", line)
        if match is None:
            continue
        depth, name = match.start(1), match.group(1)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents
