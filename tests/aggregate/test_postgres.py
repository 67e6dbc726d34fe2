"""The delegate's tests again on PostgreSQL (skipped without GAM_TEST_POSTGRES_URL)."""
from tests.aggregate import (
    test_allocate, test_expiry, test_holds, test_lifecycle, test_lock_order, test_recovery)
from tests.db.support import PostgresBackend


class AllocateTests(PostgresBackend, test_allocate.AllocateTests):
    pass


class ProvisionTests(PostgresBackend, test_lifecycle.ProvisionTests):
    pass


class ActionTests(PostgresBackend, test_lifecycle.ActionTests):
    pass


class RenewTests(PostgresBackend, test_lifecycle.RenewTests):
    pass


class LapsedTests(PostgresBackend, test_lifecycle.LapsedTests):
    pass


class DeleteShutdownTests(PostgresBackend, test_lifecycle.DeleteShutdownTests):
    pass


class ExpiryTests(PostgresBackend, test_expiry.ExpiryTests):
    pass


class RecoveryTests(PostgresBackend, test_recovery.RecoveryTests):
    pass


class GapTests(PostgresBackend, test_holds.GapTests):
    pass


class PoolHoldTests(PostgresBackend, test_holds.PoolHoldTests):
    pass


class OverdueTests(PostgresBackend, test_holds.OverdueTests):
    pass


class LockOrderTests(PostgresBackend, test_lock_order.LockOrderTests):
    pass


class PlacementRaceTests(PostgresBackend, test_lock_order.PlacementRaceTests):
    pass
