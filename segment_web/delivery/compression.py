"""Gzip for request bodies: ISA-L's ``igzip`` when the ``speedups`` extra installed it
(``isal``), else the standard library's zlib. Both write standard gzip, which every
server reads; on the benchmarks' batches igzip takes about a seventh of zlib's CPU for
about the same size (``benchmarks/README.md``).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

try:
    from isal import igzip
except ImportError:  # the extra is not installed: zlib does it
    igzip = None  # type: ignore[assignment]

# Levels measured on 100-message batches of request-tracked events, CPython 3.11
# (benchmarks/README.md).
# zlib: level 1 compresses 13-14:1 for ~2 µs of the delivery thread per message, and the
# default 6 reaches 16.5:1 for ~5.4 µs; the few hundred bytes saved per request do not
# pay for that CPU. igzip: level 1 gives 14:1 for ~0.3 µs (0 gives 9.5:1, 2 no better).
ZLIB_LEVEL = 1
ISAL_LEVEL = 1

Compress = Callable[[bytes], bytes]


def zlib_compress(body: bytes) -> bytes:
    """``body`` gzipped by the standard library (no timestamp: the same body, the same bytes)."""
    return gzip.compress(body, compresslevel=ZLIB_LEVEL, mtime=0)


def isal_compress(body: bytes) -> bytes:
    """``body`` gzipped by ISA-L; only when ``isal`` is installed."""
    return igzip.compress(body, compresslevel=ISAL_LEVEL, mtime=0)


BACKEND = "isal" if igzip is not None else "zlib"
compress: Compress = isal_compress if igzip is not None else zlib_compress
