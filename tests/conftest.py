"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest
from fakes import FakeDriver, FakeLink


@pytest.fixture
def driver() -> FakeDriver:
    return FakeDriver()


@pytest.fixture
def link() -> FakeLink:
    return FakeLink()
