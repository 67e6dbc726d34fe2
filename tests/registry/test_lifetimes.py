"""Time in the registry: slice expiry, renewal bounds, reserved names (with a Clock)."""
import datetime
import time

from twisted.internet import defer, task

from gam.auth.credential import parse_credential
from gam.auth.urn import URN
from gam.errors import AlreadyExists, BadArgs, Expired, OutOfRange
from gam.registry.manager import RecordSpec, RegistryManager
from tests.registry.support import DAY, ROOT, KeyPool, RegistryTestCase

ALICE = URN(ROOT, "user", "alice")
EXP = URN(ROOT, "slice", "exp")


class LifetimeTests(RegistryTestCase):
    settings_changes = {"slice_default_lifetime": 2 * DAY, "slice_max_lifetime": 10 * DAY,
                        "user_certificate_lifetime": 30 * DAY}

    def make_manager(self, settings):
        self.clock = task.Clock()
        self.clock.advance(int(time.time()))
        return RegistryManager(settings, key_factory=KeyPool(), clock=self.clock)

    def later(self, delta):
        self.clock.advance(delta.total_seconds())

    async def slice_with_alice(self):
        await self.add_user("alice")
        return (await self.manager.register(RecordSpec(urn=EXP, researchers=(ALICE,)))).record

    async def expect(self, coroutine, error, *fragments):
        try:
            await coroutine
        except error as e:
            for fragment in fragments:
                self.assertIn(fragment, e.message)
            return e
        self.fail(f"expected {error.__name__}")

    @defer.inlineCallbacks
    def test_default_lifetime_and_credential_expiry(self):
        record = yield defer.ensureDeferred(self.slice_with_alice())
        self.assertEqual(record.expires, self.manager.now() + 2 * DAY)
        cred = yield defer.ensureDeferred(self.manager.credential_for(ALICE, EXP))
        self.assertEqual(parse_credential(cred).expires, record.expires)

    @defer.inlineCallbacks
    def test_renewal_is_bounded_from_now(self):
        yield defer.ensureDeferred(self.slice_with_alice())
        yield defer.ensureDeferred(self.expect(self.manager.update(RecordSpec(
            urn=EXP, expires=self.manager.now() + 11 * DAY)), OutOfRange, "at most 10 days"))
        self.later(DAY)
        renewed = yield defer.ensureDeferred(self.manager.update(RecordSpec(
            urn=EXP, expires=self.manager.now() + 10 * DAY)))
        self.assertEqual(renewed.expires, self.manager.now() + 10 * DAY)

    @defer.inlineCallbacks
    def test_renewal_past_the_slice_certificate_reissues_it(self):
        record = yield defer.ensureDeferred(self.slice_with_alice())
        first = parse_credential((yield defer.ensureDeferred(
            self.manager.credential_for(ALICE, EXP)))).top.target_gid
        for step in range(3):
            if step:
                self.later(9 * DAY)  # each renewal reaches further than the last certificate
            record = yield defer.ensureDeferred(self.manager.update(RecordSpec(
                urn=EXP, expires=self.manager.now() + 10 * DAY)))
        cred = parse_credential((yield defer.ensureDeferred(
            self.manager.credential_for(ALICE, EXP))))
        self.assertGreaterEqual(cred.top.target_gid.not_after, record.expires)
        self.assertEqual(cred.top.target_gid.uuid, first.uuid)
        self.assertNotEqual(cred.top.target_gid, first)

    @defer.inlineCallbacks
    def test_expired_slice_gets_no_credential_and_no_renewal(self):
        yield defer.ensureDeferred(self.slice_with_alice())
        self.later(3 * DAY)
        yield defer.ensureDeferred(self.expect(self.manager.credential_for(ALICE, EXP), Expired,
                                               "expired at"))
        yield defer.ensureDeferred(self.expect(self.manager.update(RecordSpec(
            urn=EXP, expires=self.manager.now() + DAY)), Expired, "cannot be renewed"))

    @defer.inlineCallbacks
    def test_expired_slice_name_can_be_registered_again(self):
        old = yield defer.ensureDeferred(self.slice_with_alice())
        self.later(3 * DAY)
        new = (yield defer.ensureDeferred(self.manager.register(RecordSpec(urn=EXP)))).record
        self.assertNotEqual(new.uuid, old.uuid)
        self.assertEqual(new.researchers, ())

    @defer.inlineCallbacks
    def test_removed_slice_name_reserved_until_its_expiry(self):
        record = yield defer.ensureDeferred(self.slice_with_alice())
        yield defer.ensureDeferred(self.manager.remove(EXP))
        yield defer.ensureDeferred(self.expect(self.manager.register(RecordSpec(urn=EXP)),
                                               AlreadyExists, "reserved until"))
        self.later(record.expires - self.manager.now() + datetime.timedelta(seconds=1))
        yield defer.ensureDeferred(self.manager.register(RecordSpec(urn=EXP)))

    @defer.inlineCallbacks
    def test_removed_user_name_reserved_until_certificate_expiry(self):
        yield defer.ensureDeferred(self.add_user("alice"))
        yield defer.ensureDeferred(self.manager.remove(ALICE))
        self.later(29 * DAY)
        yield defer.ensureDeferred(self.expect(self.manager.register(RecordSpec(urn=ALICE)),
                                               AlreadyExists, "reserved until"))
        self.later(2 * DAY)
        yield defer.ensureDeferred(self.manager.register(RecordSpec(urn=ALICE)))

    @defer.inlineCallbacks
    def test_requested_expiry_in_the_past(self):
        yield defer.ensureDeferred(self.add_user("alice"))
        yield defer.ensureDeferred(self.expect(self.manager.register(RecordSpec(
            urn=EXP, expires=self.manager.now() - DAY)), BadArgs, "not in the future"))


class PostgresLifetimeTests(LifetimeTests):
    """The same on PostgreSQL (skipped unless GAM_TEST_POSTGRES_URL is set)."""

    def setUp(self):
        from tests.db.support import postgres_url
        self.settings_changes = {**LifetimeTests.settings_changes, "database": postgres_url()}
        return super().setUp()
