"""The CI guard in conftest turns a skipped server test into a failure."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(("ci", "expected"), [("true", "failed"), ("", "skipped")])
def test_server_skip_fails_only_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, expected: str
) -> None:
    from pathlib import Path

    conftest = Path(__file__).parent / "conftest.py"
    pytester.makeconftest(conftest.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    postgres: x\n    redis: y\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.postgres
        def test_needs_server():
            pytest.skip("PostgreSQL is not running")

        def test_plain():
            pytest.skip("unrelated")
        """
    )
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
    outcomes = result.parseoutcomes()
    if expected == "failed":
        assert outcomes.get("failed") == 1
        assert outcomes.get("skipped") == 1
        # the reason as a sentence with its place, not a Python tuple
        result.stdout.fnmatch_lines(
            ["*server-backed test skipped under CI: *.py:5: PostgreSQL is not running"]
        )
        assert "('" not in result.stdout.str()
    else:
        assert outcomes.get("skipped") == 2
        assert "failed" not in outcomes
