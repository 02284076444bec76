"""A tiny library for the end-to-end tests of airlock's proof."""


def add(a, b):
    return a + b


def clamp(x, lo, hi):
    # the bug: values above hi are not clamped
    if x < lo:
        return lo
    return x
