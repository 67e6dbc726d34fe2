"""Names are unique even when two requests race for one."""
from twisted.internet import defer

from gam.auth.urn import URN
from gam.errors import AlreadyExists
from gam.registry.manager import RecordSpec
from tests.registry.support import ROOT, RegistryTestCase


class UniquenessTests(RegistryTestCase):

    @defer.inlineCallbacks
    def test_concurrent_registrations_of_one_name(self):
        urn = URN(ROOT, "slice", "race")
        attempts = [defer.ensureDeferred(self.manager.register(RecordSpec(urn=urn)))
                    for _ in range(4)]
        results = yield defer.DeferredList(attempts, consumeErrors=True)
        won = [value for ok, value in results if ok]
        lost = [value for ok, value in results if not ok]
        self.assertEqual(len(won), 1)
        self.assertEqual(len(lost), 3)
        for failure in lost:
            failure.trap(AlreadyExists)
        listed = yield defer.ensureDeferred(self.manager.list(ROOT))
        self.assertEqual([r.urn for r in listed], [urn])

    @defer.inlineCallbacks
    def test_names_compare_authority_case_insensitively(self):
        yield defer.ensureDeferred(self.manager.register(RecordSpec(
            urn=URN(ROOT, "user", "al"))))
        with self.assertRaises(AlreadyExists):
            yield defer.ensureDeferred(self.manager.register(RecordSpec(
                urn=URN(ROOT.upper(), "user", "al"))))
        found = yield self.manager.get(URN(ROOT.upper(), "user", "al"))
        self.assertEqual(found.urn, URN(ROOT, "user", "al"))


class PostgresUniquenessTests(UniquenessTests):
    def setUp(self):
        from tests.db.support import postgres_url
        self.settings_changes = {"database": postgres_url()}
        return super().setUp()
