"""Shared fixtures. Figures render off-screen; no test touches the network or the home folder."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded Generator for test data."""
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point the data cache at an empty folder so no test reads or writes the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("NNSCRATCH_DATA", raising=False)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits as (X in [0, 1] float64, integer labels)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target
