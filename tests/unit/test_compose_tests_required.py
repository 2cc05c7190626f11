"""Without a Docker engine the compose tests skip on a laptop, and fail where CI requires them."""

from __future__ import annotations

import pytest

from tests.e2e import conftest


def test_without_an_engine_the_compose_tests_skip_with_the_reason(monkeypatch):
    monkeypatch.setattr(conftest, "engine_unavailable_reason", lambda: "no engine here")
    monkeypatch.delenv(conftest.REQUIRED_ENV, raising=False)

    with pytest.raises(pytest.skip.Exception, match="no engine here"):
        conftest.require_engine()


def test_where_ci_requires_them_a_missing_engine_fails(monkeypatch):
    monkeypatch.setattr(conftest, "engine_unavailable_reason", lambda: "no engine here")
    monkeypatch.setenv(conftest.REQUIRED_ENV, "1")

    with pytest.raises(pytest.fail.Exception, match="no engine here"):
        conftest.require_engine()
