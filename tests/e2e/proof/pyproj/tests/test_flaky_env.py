import os


def test_known_failure():
    # fails on every side: a pre-existing failure the contract must list, not blame
    assert os.environ.get("AIRLOCK_NEVER_SET") == "1"
