"""Bootstrap: coverage near nominal, determinism, paired detection of real vs null differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from minihft.analytics import bootstrap_ci, paired_bootstrap
from minihft.analytics import stats as st


@pytest.mark.parametrize("stat", ["mean", "median"])
def test_ci_covers_true_value_near_nominal_rate(stat: st.Stat) -> None:
    # 200 samples of N(3, 2^2), n=60: a 95% percentile CI should cover 3 about 95% of the time.
    # The percentile bootstrap undercovers slightly at small n, so accept [0.88, 0.995].
    rng = np.random.default_rng(123)
    covered = 0
    trials = 200
    for i in range(trials):
        ci = bootstrap_ci(rng.normal(3.0, 2.0, 60), stat, n_resamples=800, seed=i)
        covered += ci.lo <= 3.0 <= ci.hi
        assert ci.lo <= ci.estimate <= ci.hi
    assert 0.88 <= covered / trials <= 0.995


def test_mean_ci_width_matches_normal_theory() -> None:
    # For n=400, sd 2: half width ~ 1.96 * 2 / 20 = 0.196
    x = np.random.default_rng(1).normal(0, 2, 400)
    ci = bootstrap_ci(x, "mean", n_resamples=4000, seed=0)
    assert ci.estimate == pytest.approx(float(x.mean()))
    assert (ci.hi - ci.lo) / 2 == pytest.approx(1.96 * x.std() / 20, rel=0.1)


def test_seeded_and_chunked_resampling() -> None:
    x = np.arange(50, dtype=float)
    a = bootstrap_ci(x, seed=5, n_resamples=1000)
    assert a == bootstrap_ci(x, seed=5, n_resamples=1000)
    assert a != bootstrap_ci(x, seed=6, n_resamples=1000)


def test_chunks_do_not_change_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunking only splits the same generator stream into row blocks: results are identical,
    # so a CI does not depend on the memory bound.
    x = np.random.default_rng(0).normal(size=30)
    whole = st.bootstrap_distribution(x, "mean", 200, np.random.default_rng(3))
    monkeypatch.setattr(st, "CHUNK_CELLS", 30 * 7)
    chunked = st.bootstrap_distribution(x, "mean", 200, np.random.default_rng(3))
    assert whole.shape == (200,)
    np.testing.assert_array_equal(whole, chunked)


def test_nan_dropped_and_empty() -> None:
    ci = bootstrap_ci([1.0, float("nan"), 3.0], n_resamples=100)
    assert ci.n == 2 and ci.n_dropped == 1 and ci.estimate == 2.0
    e = bootstrap_ci([float("nan")])
    assert e.n == 0 and math.isnan(e.estimate) and e.to_dict()["estimate"] is None
    one = bootstrap_ci([4.0], n_resamples=50)
    assert (one.lo, one.estimate, one.hi) == (4.0, 4.0, 4.0)
    with pytest.raises(ValueError, match="stat = 'mode'"):
        bootstrap_ci([1.0], "mode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0], confidence=95)


def test_paired_detects_real_difference_hidden_by_common_noise() -> None:
    # Per-order market noise (sd 20 bps) is shared by both strategies; B costs 1.5 bps more
    # with idiosyncratic sd 1. Unpaired CIs overlap; the paired CI excludes 0 and covers -1.5.
    rng = np.random.default_rng(42)
    common = rng.normal(10, 20, 200)
    a = common + rng.normal(0, 1, 200)
    b = common + 1.5 + rng.normal(0, 1, 200)
    ca, cb = bootstrap_ci(a, seed=1), bootstrap_ci(b, seed=1)
    assert ca.hi > cb.lo  # separate intervals cannot tell them apart
    d = paired_bootstrap(a, b, seed=1)
    assert d.significant and d.hi < 0 and d.lo <= -1.5 <= d.hi
    assert d.p_value < 0.01
    assert d.estimate == pytest.approx(float(np.mean(a - b)))


def test_paired_null_difference_is_not_significant() -> None:
    rng = np.random.default_rng(43)
    common = rng.normal(10, 20, 200)
    a = common + rng.normal(0, 1, 200)
    b = common + rng.normal(0, 1, 200)
    d = paired_bootstrap(a, b, seed=1)
    assert not d.significant and d.lo < 0 < d.hi and d.p_value > 0.05


def test_paired_null_false_positive_rate_is_near_alpha() -> None:
    rng = np.random.default_rng(44)
    hits = sum(
        paired_bootstrap(
            rng.normal(0, 1, 50), rng.normal(0, 1, 50), n_resamples=500, seed=i
        ).significant
        for i in range(100)
    )
    assert hits <= 12  # nominal 5 of 100; loose bound


def test_paired_drops_incomplete_pairs_and_checks_lengths() -> None:
    d = paired_bootstrap([1.0, float("nan"), 3.0], [0.0, 1.0, float("nan")], n_resamples=50)
    assert d.n == 1 and d.n_dropped == 2 and d.estimate == 1.0
    with pytest.raises(ValueError, match="a has 2 values, b has 1"):
        paired_bootstrap([1.0, 2.0], [1.0])
