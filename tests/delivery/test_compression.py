"""Request bodies are gzipped by ISA-L (the ``speedups`` extra) or zlib: standard gzip
either way, read back to the same body by the server."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from segment_web.delivery import compression as gzip_backend
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer

BODIES = [
    b"",
    b'{"batch":[]}',
    json.dumps({"batch": [{"event": f"E{n}", "n": n} for n in range(500)]}).encode(),
    os.urandom(70_000),  # incompressible
]


def test_isal_is_used_when_installed() -> None:
    assert gzip_backend.BACKEND == "isal"
    assert gzip_backend.compress is gzip_backend.isal_compress


@pytest.mark.parametrize("compress", [gzip_backend.isal_compress, gzip_backend.zlib_compress])
def test_each_backend_writes_gzip_that_reads_back(compress: gzip_backend.Compress) -> None:
    for body in BODIES:
        packed = compress(body)
        assert packed[:2] == b"\x1f\x8b"  # the gzip magic number
        assert gzip.decompress(packed) == body
        assert compress(body) == packed  # no timestamp inside: the same body, the same bytes


@pytest.mark.parametrize("compress", [gzip_backend.isal_compress, gzip_backend.zlib_compress])
def test_the_server_reads_each_backends_bodies(
    make_client: MakeClient,
    server: RecordingServer,
    monkeypatch: pytest.MonkeyPatch,
    compress: gzip_backend.Compress,
) -> None:
    monkeypatch.setattr(gzip_backend, "compress", compress)
    client = make_client()
    for n in range(3):
        client.track(user_id="u", event=f"E{n}")
    assert client.flush(timeout=10) == 3
    (request,) = server.requests
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.raw == compress(request.data)
    assert [m["event"] for m in request.body["batch"]] == ["E0", "E1", "E2"]
