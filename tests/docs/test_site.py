"""The documentation site builds with ``--strict``, its generated reference is the
registry, and the README links only to pages that exist."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import segment_web
from segment_web.web.settings import CLIENT_OPTION_NAMES, OPTIONS

from .blocks import DOCS, ROOT
from .conftest import build_site

NAV_PAGES = [
    "index.md",
    "getting-started.md",
    "frameworks/django.md",
    "frameworks/flask.md",
    "frameworks/asgi.md",
    *(
        f"deployment/{name}.md"
        for name in (
            "gunicorn",
            "uwsgi",
            "asgi-servers",
            "celery",
            "rq",
            "multiprocessing",
            "short-lived",
        )
    ),
    "data-collected.md",
    "privacy.md",
    "delivery.md",
    "durable-delivery.md",
    "tracking-plans.md",
    "collector.md",
    "testing.md",
    "performance.md",
    "troubleshooting.md",
    "migrating.md",
    "user-identity.md",
    "observability.md",
    "reference/options.md",
    "reference/signals.md",
    "reference/api.md",
    "reference/django-checks.md",
    "architecture.md",
]


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def page_text(site: Path, page: str) -> str:
    built = site / page.removesuffix(".md").removesuffix("index") / "index.html"
    return text_of(built.read_text(encoding="utf-8"))


def test_every_page_is_built(built_site: Path) -> None:
    for page in NAV_PAGES:
        assert (DOCS / page).is_file(), page
        assert page_text(built_site, page).strip(), page


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(DOCS, copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    page = copy / "docs" / "delivery.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [the queue](queue.md).\n")
    result = build_site(copy / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "queue.md" in result.stderr


def test_the_options_reference_lists_every_option_in_each_spelling(built_site: Path) -> None:
    page = (built_site / "reference" / "options" / "index.html").read_text(encoding="utf-8")
    assert "<!-- options table -->" not in page
    sections = re.split(r"<h3 ", page)[1:]
    by_id = {re.match(r'id="([^"]+)"', section)[1]: text_of(section) for section in sections}
    assert list(by_id) == [option.name for option in OPTIONS]  # the registry's order
    summary = text_of(page.split("<h3 ", 1)[0])
    for option in OPTIONS:
        upper = option.name.upper()
        section = by_id[option.name]
        assert f"{option.name}=" in section, option.name
        assert f'Django: SEGMENT["{upper}"]' in section, option.name
        assert f"Flask: SEGMENT_{upper}" in section, option.name
        assert option.doc in section and option.doc in summary, option.name
        assert "Type:" in section and "Default:" in section, option.name
        adapters_only = option.name not in CLIENT_OPTION_NAMES
        assert ("adapters only" in section) == adapters_only, option.name


def test_the_api_reference_documents_the_public_surface(built_site: Path) -> None:
    page = (built_site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for name in segment_web.__all__:
        if name != "__version__":
            assert f'id="segment_web.{name}"' in page, name
    for module in ("signals", "testing", "django", "flask", "asgi", "plan", "collector"):
        assert f'id="segment_web.{module}"' in page, module
    assert 'id="segment_web.Analytics.track"' in page  # the calls, inherited


def test_the_readme_links_to_pages_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    links = re.findall(r"\]\(((?:docs/|CONTRIBUTING|CHANGELOG|LICENSE)[^)#]*)", readme)
    assert len(links) > 20
    for link in links:
        assert (ROOT / link).is_file(), link
