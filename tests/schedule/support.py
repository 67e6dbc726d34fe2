"""Shared set-up for schedule tests."""
from datetime import timedelta

from gam.schedule import ResourceSpec, thd_define_resources

from tests.db.support import T0, EngineMixin

INVENTORY = (
    ResourceSpec("host1", "bounded"),
    ResourceSpec("host2", "bounded"),
    ResourceSpec("cores", "pool", capacity=10, unit="cores"),
    ResourceSpec("bw", "pool", capacity=1000, unit="mbps"),
    ResourceSpec("vlans", "vlan", ranges=((100, 102),)),
)


def h(n):
    """T0 plus ``n`` hours."""
    return T0 + timedelta(hours=n)


class ScheduleMixin(EngineMixin):
    def setUp(self):
        super().setUp()
        self.tx(thd_define_resources, INVENTORY, T0)

    def count_reservations(self):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM reservations").scalar()
