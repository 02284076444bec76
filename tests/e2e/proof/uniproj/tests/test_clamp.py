import unittest

from mathlib import clamp


class TestClamp(unittest.TestCase):
    def test_low(self):
        self.assertEqual(clamp(-5, 0, 10), 0)
