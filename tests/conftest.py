"""Shared test fixtures. With CI=true no test may skip for a missing browser or tool: it fails instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(path_or_name: str, why: str) -> str:
    """The tool's path; skipped locally when missing, a failure in CI."""
    found = path_or_name if os.path.exists(path_or_name) else shutil.which(path_or_name)
    if found:
        return found
    message = f"{path_or_name} is missing ({why})"
    if IN_CI:
        pytest.fail(message + "; CI must install it (.ci/run)")
    pytest.skip(message)


@pytest.fixture
def artifacts() -> Path:
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    return out
