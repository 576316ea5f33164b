"""The built wheel works outside the checkout, as a new user would install it.

The wheel is built from a copy of the sources, installed (not editable) into a fresh
virtualenv, and its ``dispatcher`` command runs from a temporary directory: migrations,
email templates and static files must come from the installed package, not from the
repository. The virtualenv borrows the test run's installed dependencies through a .pth
file, so nothing is downloaded to install the wheel itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
#: What the build reads: the packages, the data folders mapped into them, the metadata.
SOURCES = ("dispatcher", "subscribers", "templates", "migrations", "pyproject.toml", "setup.py")
EDITION = REPO / "examples" / "cronache-da-palazzo-cisterna.md"
NEWSLETTER = REPO / "examples" / "cronache.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by pip from a copy of the sources (the checkout stays untouched)."""
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    shutil.copy2(REPO / "README.md", source / "README.md")
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)])
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed; dependencies come from this run's."""
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    python = root / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    # Appended after the venv's own site-packages: the wheel's dispatcher comes first.
    Path(site.strip(), "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _run([*pip, "--no-deps", "--no-index", str(wheel)])
    return root


def test_the_wheel_holds_every_template_static_file_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"dispatcher/_{folder}/{path.relative_to(REPO / folder).as_posix()}"
        for folder in ("templates", "migrations")
        for path in (REPO / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "dispatcher/_migrations/env.py" in expected
    assert "dispatcher/_migrations/script.py.mako" in expected
    assert any(name.startswith("dispatcher/_templates/web/static/") for name in expected)
    assert expected - names == set()


def test_the_installed_package_reads_the_web_texts_from_any_directory(
    wheel: Path, venv: Path, tmp_path: Path
) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in ("it", "en"):
        assert f"dispatcher/locale/{language}/LC_MESSAGES/messages.po" in names
    code = "from dispatcher.web.i18n import translate as t; print(t('en', 'public.home_title'))"
    shown = _run(
        [str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=_environment(tmp_path)
    )
    assert shown.strip() == "Newsletters of the Metropolitan City of Turin — Subscribe"


def test_the_installed_package_is_the_one_imported(venv: Path, tmp_path: Path) -> None:
    shown = _run(
        [str(venv / "bin" / "python"), "-c", "import dispatcher; print(dispatcher.__file__)"],
        cwd=tmp_path,
        env=_environment(tmp_path),
    )
    assert Path(shown.strip()).is_relative_to(venv)


def test_the_commands_work_from_any_directory(venv: Path, tmp_path: Path) -> None:
    for path in (EDITION, NEWSLETTER):
        shutil.copy2(path, tmp_path / path.name)
    dispatcher = str(venv / "bin" / "dispatcher")
    env = _environment(tmp_path)
    run = [dispatcher, "lists", "create", "cronache", "Cronache", "--settings", NEWSLETTER.name]
    assert "database at head" in _run([dispatcher, "db", "upgrade"], cwd=tmp_path, env=env)
    assert "cronache created" in _run(run, cwd=tmp_path, env=env)
    edition_id = _run([dispatcher, "editions", "add", EDITION.name], cwd=tmp_path, env=env)
    preview = tmp_path / "preview"
    run = [dispatcher, "editions", "preview", edition_id.strip(), "--out", str(preview)]
    _run(run, cwd=tmp_path, env=env)
    title = _cover_title(EDITION)
    assert title in (preview / "edition.html").read_text(encoding="utf-8")
    assert title in (preview / "edition.txt").read_text(encoding="utf-8")
    assert (preview / "sample.eml").stat().st_size > 0


def _cover_title(path: Path) -> str:
    front_matter = path.read_text(encoding="utf-8").split("---\n")[1]
    return str(yaml.safe_load(front_matter)["cover"]["title"])


def _environment(where: Path) -> dict[str, str]:
    """The demo's settings (examples/demo.sh) in ``where``, and no PYTHONPATH to the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        DISPATCHER_DEMO="1",
        DATABASE_URL=f"sqlite:///{where}/dispatcher.sqlite",
        BROKER_URL=f"sqla+sqlite:///{where}/broker.sqlite",
        SMTP_URL=f"file://{where}/outbox",
    )
    return env


def _run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done.stdout
