"""One change at a time per slice (within this AM process).

Bookings never double-book whatever the locking here (the schedule locks
under the database); this lock keeps two calls on the same slice (two
Provisions, a Delete and an expiry) from interleaving their steps between
transactions and driver work.
"""
from contextlib import asynccontextmanager

from twisted.internet import defer


class KeyedLock:
    def __init__(self):
        self._locks = {}        # key -> [DeferredLock, users]

    @asynccontextmanager
    async def hold(self, key):
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = [defer.DeferredLock(), 0]
        entry[1] += 1
        try:
            await entry[0].acquire()
            try:
                yield
            finally:
                entry[0].release()
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]

    def __len__(self):
        return len(self._locks)


__all__ = ["KeyedLock"]
