"""``cached_property`` for hot paths.

The standard ``functools.cached_property`` takes a lock shared by every
instance on each first access up to Python 3.11 (3.12 dropped it). A
certificate's fields are read for the first time on every cold credential
verification, a dozen of them each time, so that lock showed in the
figures. This one is 3.12's behaviour: compute, store in the instance's
``__dict__`` (which then answers every later read), no lock. Two threads
may both compute a value the first time; the values are pure functions of
the instance, so either one is right.
"""


class cached_property:  # noqa: N801 - named like the one it stands for
    def __init__(self, func):
        self.func = func
        self.attrname = None
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name):
        self.attrname = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.attrname] = value
        return value
