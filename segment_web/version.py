"""The package version, sent on the wire as ``context.library.version``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("segment-web")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0.0.0"

LIBRARY_NAME = "segment-web"
