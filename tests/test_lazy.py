"""gam.lazy.cached_property: computed once, then an ordinary attribute."""
from twisted.trial.unittest import SynchronousTestCase

from gam.lazy import cached_property


class Counted:
    def __init__(self):
        self.calls = 0

    @cached_property
    def value(self):
        """The doc travels."""
        self.calls += 1
        return object()


class CachedPropertyTests(SynchronousTestCase):
    def test_computed_once_per_instance(self):
        a, b = Counted(), Counted()
        self.assertIs(a.value, a.value)
        self.assertIsNot(a.value, b.value)
        self.assertEqual((a.calls, b.calls), (1, 1))
        self.assertIs(a.__dict__["value"], a.value)

    def test_class_access_gives_the_descriptor(self):
        self.assertIsInstance(Counted.value, cached_property)
        self.assertEqual(Counted.value.__doc__, "The doc travels.")
