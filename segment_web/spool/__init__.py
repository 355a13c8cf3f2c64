"""The on-disk spool behind durable delivery: encoded messages in segment files.

A client with a spool directory owns a set of files there (see ``files``): segment
files of length- and checksum-framed records (``records``), written with one plain
``write`` per message (``writer``) and read back in order (``cursor``), and how far
they were delivered. A process that dies leaves its files behind, unlocked; the next
live process adopts them (``Spool.adopt_orphans``) and sends what is left, oldest
first. The engine knows nothing of the client: it stores and returns bytes.
``store.SpoolStore`` puts it behind the client's message-store interface.
"""

from segment_web.spool.records import Position
from segment_web.spool.spool import Orphan, Spool, SpoolFull

__all__ = ["Orphan", "Position", "Spool", "SpoolFull"]
