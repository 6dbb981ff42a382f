"""Wilcoxon signed-rank test vs ``scipy.stats.wilcoxon`` (defaults: method="auto").

Exact path (no ties, no zeros, n <= 50): p-values bit for bit; permutation path
(ties or zeros, n <= 13): exact counts, bit for bit; normal approximation (n > 50,
or ties with n > 13): rtol 1e-12.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import scipy.stats as sst

import quantmarl  # noqa: F401
from quantmarl.quant.signed_rank import wilcoxon_signed_rank

RNG = np.random.default_rng(3)
EXACT = [RNG.normal(size=8), RNG.normal(0.3, 1.0, size=20), RNG.normal(size=50)]
PERMUTATION = [np.round(RNG.normal(size=6), 1), np.array([0.0, 1, 2, -3, 0.5, 2]),
               np.full(5, 1.0)]
ASYMPTOTIC = [RNG.normal(0.2, 1.0, size=60), np.round(RNG.normal(size=20)) + 0.5,
              np.r_[0.0, 0.0, RNG.normal(size=30)]]
ALTERNATIVES = ["two-sided", "less", "greater"]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("d", EXACT + PERMUTATION, ids=lambda d: f"n{d.size}")
def test_exact_and_permutation_paths_match_scipy_bit_for_bit(d, alternative):
    res = wilcoxon_signed_rank(d, alternative=alternative)
    ref = sst.wilcoxon(d, alternative=alternative)
    assert float(res.pvalue) == ref.pvalue
    assert float(res.statistic) == ref.statistic


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("d", ASYMPTOTIC, ids=lambda d: f"n{d.size}")
def test_normal_approximation_matches_scipy(d, alternative):
    res = wilcoxon_signed_rank(d, alternative=alternative)
    ref = sst.wilcoxon(d, alternative=alternative)
    np.testing.assert_allclose(float(res.pvalue), ref.pvalue, rtol=1e-12)
    assert float(res.statistic) == ref.statistic


def test_paired_form_batches_and_vmaps():
    x, y = RNG.normal(size=(4, 9)), RNG.normal(size=(4, 9))
    res = wilcoxon_signed_rank(x, y, alternative="greater")
    ref = [sst.wilcoxon(a, b, alternative="greater").pvalue for a, b in zip(x, y, strict=True)]
    np.testing.assert_array_equal(np.asarray(res.pvalue), ref)
    vm = jax.vmap(lambda a, b: wilcoxon_signed_rank(a, b).pvalue)(x, y)
    np.testing.assert_array_equal(np.asarray(vm), np.asarray(wilcoxon_signed_rank(x, y).pvalue))
    with pytest.raises(ValueError, match="alternative"):
        wilcoxon_signed_rank(x, y, alternative="bigger")
