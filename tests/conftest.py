"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from course.checks import LOG


@pytest.fixture(autouse=True)
def empty_check_log():
    """Every test starts and ends with an empty log of check results."""
    LOG.clear()
    yield
    LOG.clear()
