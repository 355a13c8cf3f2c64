"""ForkMark: moved() in a forked child until renewed there, never in the process that
made it; by the wiped page on Linux, by the pid elsewhere (both checked here)."""

from __future__ import annotations

import os
import sys

import pytest

from segment_web import fork_mark
from segment_web.fork_mark import ForkMark
from tests.support.forking import wait_child

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()"),
    pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning"),
]


@pytest.mark.parametrize("by_page", [True, False], ids=["wiped-page", "getpid"])
def test_a_mark_has_moved_in_a_forked_child_until_renewed_there(
    by_page: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not by_page:
        monkeypatch.setattr(fork_mark, "_wiped_on_fork_page", lambda: None)
    mark = ForkMark()
    if by_page and sys.platform != "linux":
        pytest.skip("MADV_WIPEONFORK is Linux's")
    assert mark.uses_page is by_page
    assert not mark.moved()
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            moved = mark.moved()
            mark.renew()
            code = 0 if moved and not mark.moved() else 3
        finally:
            os._exit(code)
    assert wait_child(pid) == 0
    assert not mark.moved()
