"""Commands to print for the user, written so they work from where the user is: the
Python that runs now (a venv's, say, not whichever ``python`` is first on PATH), and
the clone when this package runs from a source checkout rather than an install."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

DISTRIBUTION = "segment-web"


def python_command() -> str:
    """How to call the running interpreter: ``python`` when that is what PATH finds,
    else its path (relative when under the current directory: ``.venv/bin/python``)."""
    executable = sys.executable
    if not executable:
        return "python"
    for name in ("python", "python3"):
        found = shutil.which(name)
        if found and _same_file(found, executable):
            return name
    return shown_path(Path(executable))


def shown_path(path: Path) -> str:
    """``path`` quoted for a shell, relative to the current directory when inside it."""
    return shlex.quote(_relative(path))


def _relative(path: Path) -> str:
    absolute = Path(os.path.abspath(path))  # not resolve(): a venv's python is a symlink
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def source_checkout() -> Path | None:
    """The clone this package is imported from, None when it is installed (a wheel)."""
    root = Path(__file__).resolve().parents[2]
    try:
        project = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if f'name = "{DISTRIBUTION}"' in project else None


def install_command(extra: str) -> str:
    """The pip command that installs ``extra`` into the running interpreter's
    environment: from the clone when running from one (the package may not be
    published), else by its published name."""
    pip = f"{python_command()} -m pip install"
    clone = source_checkout()
    if clone is None:
        return f"{pip} {shlex.quote(f'{DISTRIBUTION}[{extra}]')}"
    return f"{pip} -e {shlex.quote(f'{_relative(clone)}[{extra}]')}"


def _same_file(first: str, second: str) -> bool:
    # Compared without following the last symlink: a venv's python links to the base
    # interpreter, and running that one would miss the venv's packages.
    return os.path.abspath(first) == os.path.abspath(second)
