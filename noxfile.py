"""The version matrix: the test suite on every supported Python with the newest pinned
dependencies (``constraints.txt``), once with the oldest supported Django, Flask,
Starlette, requests and blinker (``constraints-oldest.txt``), and the built wheel
installed into a clean venv.

``make matrix`` runs every session (it puts pyenv's interpreters on PATH); one session:
``.venv/bin/nox -s tests-3.12``; ``nox -l`` lists them. A Python that is not installed is
skipped with a message, not failed.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# The oldest releases predate the newest Pythons (Django 4.2 supports none after 3.12),
# so they are tested on the oldest one.
OLDEST_PYTHON = "3.10"
PACKAGE_PYTHON = "3.11"

ROOT = Path(__file__).parent
NEWEST = ROOT / "constraints.txt"
OLDEST = ROOT / "constraints-oldest.txt"
WHEEL_SMOKE = ROOT / "tests" / "wheel_smoke.py"
PRINT_FLOOR_VERSIONS = (
    "from importlib.metadata import version\n"
    "names = ('Django', 'Flask', 'starlette', 'requests', 'blinker')\n"
    "print(', '.join(f'{name} {version(name)}' for name in names))"
)

nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"  # only the interpreters installed here
nox.options.reuse_venv = "yes"
# `make matrix` (nox with no -s) runs the version matrix and the package check; the
# tiers are for `nox -s unit` and the like.
nox.options.sessions = ["tests", "oldest", "package"]


def use_constraints(session: nox.Session, constraints: Path) -> None:
    """Every pip run of the session (build environments included) obeys these pins."""
    session.env["PIP_CONSTRAINT"] = str(constraints)
    session.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    session.install("pip")


def install_project(session: nox.Session) -> None:
    """The package as make test installs it: its docs extra and the dev and bench
    dependency groups (PEP 735; bench brings segment-analytics-python, which the
    migration guide's examples run)."""
    session.install("-e", ".[docs]", "--group", "dev", "--group", "bench")


def install_and_test(session: nox.Session, constraints: Path) -> None:
    use_constraints(session, constraints)
    install_project(session)
    session.run("python", "-c", PRINT_FLOOR_VERSIONS)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite with the newest pinned dependencies."""
    install_and_test(session, NEWEST)


# Test tiers, fastest first, for a contributor's edit-test loop; `make test` runs them all.
TIERS = {
    "unit": [
        "tests/core",
        "tests/delivery",
        "tests/wire",
        "tests/store",
        "tests/web",
        "tests/spool",
        "tests/plan",
        "tests/process",
        "tests/metrics",
        "tests/test_api.py",
        "tests/test_smoke.py",
    ],
    "adapters": [
        "tests/django",
        "tests/flask",
        "tests/asgi",
        "tests/conformance",
        "tests/examples",
    ],
    "process-models": ["tests/process_models"],
    "browser": ["tests/collector", "tests/docs"],
    "budget": ["tests/benchmarks"],
}


def run_tier(session: nox.Session, tier: str) -> None:
    use_constraints(session, NEWEST)
    install_project(session)
    paths = [path for path in TIERS[tier] if (ROOT / path).exists()]
    session.run("pytest", *paths, *session.posargs)


@nox.session(python=PACKAGE_PYTHON)
def unit(session: nox.Session) -> None:
    """The core, request layer, spool and plan tests: no server, no browser (about a minute)."""
    run_tier(session, "unit")


@nox.session(python=PACKAGE_PYTHON)
def adapters(session: nox.Session) -> None:
    """The adapters through their test clients: tests/conformance and their own folders."""
    run_tier(session, "adapters")


@nox.session(name="process-models", python=PACKAGE_PYTHON)
def process_models(session: nox.Session) -> None:
    """Real servers and workers: gunicorn, uWSGI, uvicorn, hypercorn, daphne, Celery, RQ."""
    run_tier(session, "process-models")


@nox.session(python=PACKAGE_PYTHON)
def browser(session: nox.Session) -> None:
    """The collector, its page in Debian's Chromium included."""
    run_tier(session, "browser")


@nox.session(python=PACKAGE_PYTHON)
def budget(session: nox.Session) -> None:
    """The instructions the adapters add per request, against the committed budget
    (needs valgrind)."""
    run_tier(session, "budget")


@nox.session(python=OLDEST_PYTHON)
def oldest(session: nox.Session) -> None:
    """The test suite with the oldest supported releases (the floors in pyproject.toml)."""
    install_and_test(session, OLDEST)


@nox.session(python=PACKAGE_PYTHON)
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, check them, install the wheel into a clean venv and
    send one event from there to the local collector."""
    use_constraints(session, NEWEST)
    session.install("build", "twine")
    work = Path(session.create_tmp()).resolve()
    dist = work / "dist"
    clean_venv = work / "clean-venv"
    shutil.rmtree(dist, ignore_errors=True)
    shutil.rmtree(clean_venv, ignore_errors=True)

    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    session.run("twine", "check", "--strict", str(wheel), str(sdist))
    with zipfile.ZipFile(wheel) as archive:
        if "segment_web/py.typed" not in archive.namelist():
            session.error(f"{wheel.name} does not ship segment_web/py.typed")

    session.run("python", "-m", "venv", str(clean_venv))
    python = str(clean_venv / "bin" / "python")
    session.run(
        python, "-m", "pip", "install", "-q", f"{wheel}[django,flask,asgi,collector]", external=True
    )
    # Isolated (-I: not even the script's folder on sys.path) and outside the clone, so only
    # the installed wheel can be imported.
    with session.chdir(work):
        session.run(python, "-I", str(WHEEL_SMOKE), external=True)
