"""Fixtures for the deployment tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.deploy.deploy_support import shared_dir


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()
