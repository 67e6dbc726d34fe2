"""The schedule's async face: each method runs one transaction in the DB pool.

To book and write slivers in ONE transaction, call the ``thd_`` functions
yourself inside a function given to ``DBConnector.run``.
"""
from gam.schedule.booking import thd_cancel, thd_expire, thd_extend, thd_reserve
from gam.schedule.inventory import thd_define_resources, thd_get_resource, thd_list_resources
from gam.schedule.status import (
    thd_find_free, thd_holder_reservations, thd_list_reservations, thd_usage,
    thd_usage_all)


class Schedule:
    """Deferred-returning wrappers over a ``gam.db.connector.DBConnector``."""

    def __init__(self, db):
        self.db = db

    def define_resources(self, specs, now=None):
        return self.db.run(thd_define_resources, tuple(specs), now)

    def reserve(self, holder, claims, start, end):
        return self.db.run(thd_reserve, holder, tuple(claims), start, end)

    def extend(self, holder, new_end):
        return self.db.run(thd_extend, holder, new_end)

    def cancel(self, holder):
        return self.db.run(thd_cancel, holder)

    def expire(self, now):
        return self.db.run(thd_expire, now)

    def find_free(self, candidates, start, end):
        return self.db.read(thd_find_free, tuple(candidates), start, end)

    def usage(self, resource, at):
        return self.db.read(thd_usage, resource, at)

    def usage_all(self, at, names=None):
        return self.db.read(thd_usage_all, at, names)

    def holder_reservations(self, holder):
        return self.db.read(thd_holder_reservations, holder)

    def list_reservations(self, resource, start, end):
        return self.db.read(thd_list_reservations, resource, start, end)

    def get_resource(self, name):
        return self.db.read(thd_get_resource, name)

    def list_resources(self, kind=None, include_retired=False):
        return self.db.read(thd_list_resources, kind, include_retired)
