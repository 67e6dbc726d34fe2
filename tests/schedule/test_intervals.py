"""Pure interval and tag-range helpers."""
from datetime import timedelta

from twisted.trial.unittest import SynchronousTestCase

from gam.errors import BadArgs
from gam.schedule.intervals import (
    check_interval, count_tags, describe_ranges, first_free_tag, fmt, normalise_ranges,
    peak, span_seconds)

from tests.db.support import T0


def h(n):
    return T0 + timedelta(hours=n)


class PeakTests(SynchronousTestCase):
    def test_nothing(self):
        self.assertEqual(peak([], h(0), h(1)), (0, h(0), h(1)))

    def test_back_to_back_do_not_add_up(self):
        self.assertEqual(peak([(h(0), h(1), 3), (h(1), h(2), 4)], h(0), h(2))[0], 4)

    def test_max_concurrent_not_sum(self):
        intervals = [(h(0), h(2), 5), (h(2), h(4), 5), (h(1), h(3), 2)]
        self.assertEqual(peak(intervals, h(0), h(4)), (7, h(1), h(2)))

    def test_clipped_to_window(self):
        intervals = [(h(0), h(2), 5), (h(3), h(5), 8)]
        self.assertEqual(peak(intervals, h(1), h(3))[0], 5)
        self.assertEqual(peak(intervals, h(2), h(3))[0], 0)


class IntervalTests(SynchronousTestCase):
    def test_check_interval(self):
        self.assertEqual(check_interval(h(0), h(1)), (h(0), h(1)))
        err = self.assertRaises(BadArgs, check_interval, h(1), h(1))
        self.assertIn("not after", str(err))
        self.assertRaises(BadArgs, check_interval, h(2), h(1))

    def test_fmt(self):
        self.assertEqual(fmt(T0), "2030-06-01T12:00:00Z")

    def test_span_rounds_up(self):
        self.assertEqual(span_seconds(h(0), h(0) + timedelta(seconds=1, microseconds=1)), 2)


class RangeTests(SynchronousTestCase):
    def test_normalise_merges_and_sorts(self):
        self.assertEqual(normalise_ranges([(300, 310), (100, 200), (201, 205), 400]),
                         ((100, 205), (300, 310), (400, 400)))

    def test_bad_ranges(self):
        for bad in ([(0, 10)], [(10, 4095)], [(20, 10)], ["x"], [(1.5, 3)], [True]):
            self.assertRaises(ValueError, normalise_ranges, bad)

    def test_count_and_pick(self):
        ranges = ((100, 101), (200, 200))
        self.assertEqual(count_tags(ranges), 3)
        self.assertEqual(first_free_tag(ranges, set()), 100)
        self.assertEqual(first_free_tag(ranges, {100, 101}), 200)
        self.assertIsNone(first_free_tag(ranges, {100, 101, 200}))
        self.assertEqual(describe_ranges(ranges), "100-101, 200")
