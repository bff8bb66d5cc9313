"""Test-wide settings: the command line's default results stores go to a temporary directory (not
the working directory of the test run)."""
import pytest


@pytest.fixture(autouse=True)
def _store_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ASYMPTOTICS_STORE_DIR", str(tmp_path_factory.getbasetemp()))
