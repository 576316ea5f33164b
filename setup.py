"""The package list: the packages found, plus the data folders pyproject.toml maps in.

pyproject.toml cannot add packages to the ones ``find`` discovers, and listing every
subpackage by hand would let a new one fall silently out of the wheel. Each data folder's
subfolders are listed too: setuptools installs only the folders it is told are packages.
"""

from __future__ import annotations

from setuptools import find_namespace_packages, find_packages, setup

#: Package name -> folder at the repository's top (the same pairs as package-dir).
DATA_FOLDERS = {"dispatcher._templates": "templates", "dispatcher._migrations": "migrations"}


def data_packages() -> list[str]:
    """Each data folder and its subfolders, as the package names they install under."""
    names = []
    for package, folder in DATA_FOLDERS.items():
        names.append(package)
        names.extend(f"{package}.{sub}" for sub in find_namespace_packages(where=folder))
    return names


setup(packages=[*find_packages(include=["dispatcher*", "subscribers*"]), *data_packages()])
