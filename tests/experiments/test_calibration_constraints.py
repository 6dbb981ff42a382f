"""The calibration's realism constraints and the verification of its best candidates."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibration import constraints, verify
from experiments.calibration.objective import MOMENT_NAMES
from quantmarl.quant.stylized import acf


def _moments(**values) -> np.ndarray:
    """float [1, 2, M]: two identical series' moments, a passing market unless changed."""
    ok = {"kurtosis_1": 8.0, "kurtosis_20": 4.0, "acf_r_1": 0.0, "acf_r_2_10": 0.04,
          "acf_abs_1": 0.25, "acf_abs_10": 0.2, "acf_abs_20": 0.2, "acf_abs_50": 0.1,
          "hill": 3.0, "leverage": -0.1, "volume_corr": 0.2, "zero_share": 0.0}
    row = [{**ok, **values}[n] for n in MOMENT_NAMES]
    return np.array([[row, row]], np.float64)


def test_penalty_is_zero_inside_the_targets_and_the_squared_shortfall_outside():
    rho = np.zeros((1, 11))
    assert constraints.penalty(_moments(), rho)[0] == 0.0
    # volume_corr 0.05: short of 0.1 + 1 * 0.02 by 0.07 = 3.5 tolerances -> 12.25
    assert constraints.penalty(_moments(volume_corr=0.05), rho)[0] == pytest.approx(12.25)
    # kurtosis 20-step above 1-step: gap -1 -> short of 1 by 2 -> 4
    assert constraints.penalty(_moments(kurtosis_20=9.0), rho)[0] == pytest.approx(4.0)
    # hill above 5: 6 - 4.5 = 1.5 / 0.5 -> 9
    assert constraints.penalty(_moments(hill=6.0), rho)[0] == pytest.approx(9.0)
    # the per-lag pooled ACF, not the per-series max, carries the linear facts
    bad = rho.copy()
    bad[0, 4] = -0.065  # |ACF| 0.065 at lag 4: 0.025 beyond 0.04 -> 2.5 tolerances
    assert constraints.penalty(_moments(acf_r_2_10=0.9), rho)[0] == 0.0
    assert constraints.penalty(_moments(), bad)[0] == pytest.approx(6.25)
    # a missing fact (no volume) does not count; a non-finite one is inf
    assert constraints.penalty(_moments(volume_corr=np.nan), rho)[0] == 0.0
    assert constraints.penalty(_moments(hill=np.inf), rho)[0] == np.inf


def test_pooled_acf_is_the_per_lag_median_over_seeds_and_assets():
    rng = np.random.default_rng(0)
    close = np.round(10_000 * np.exp(np.cumsum(rng.standard_t(4, (2, 3, 400, 2)) * 1e-3,
                                               axis=2))).astype(np.int64)  # [P, S, T, A]
    got = np.asarray(constraints.pooled_acf(close))
    assert got.shape == (2, 11)
    r = np.diff(np.log(close.astype(np.float64)), axis=2)
    for p in range(2):
        per = [np.asarray(acf(r[p, s, :, a], 10)) for s in range(3) for a in range(2)]
        np.testing.assert_allclose(got[p], np.median(per, axis=0), atol=1e-12)


def test_top_distinct_skips_repeats_and_non_finite_losses():
    units = np.array([[0.1, 0.1], [0.5, 0.5], [0.1, 0.1], [0.9, 0.2], [0.3, 0.3]])
    losses = np.array([1.0, 3.0, 1.0, np.inf, 2.0])
    assert verify.top_distinct(units, losses, 3) == [0, 4, 1]
    assert verify.top_distinct(units, losses, 10) == [0, 4, 1]


def test_choose_takes_the_fewest_failures_then_the_lowest_loss():
    v = [verify.Verdict(0, 1.0, ("auction:hill", "cda:hill"), {}),
         verify.Verdict(1, 2.0, ("cda:zero_share",), {}),
         verify.Verdict(2, 1.5, ("auction:hill",), {})]
    assert verify.choose(v).index == 2
    with pytest.raises(ValueError, match="no candidate"):
        verify.choose([])


def test_verify_checks_each_mode_with_jumps_on_and_off_until_one_passes(monkeypatch):
    from experiments import realism
    from quantmarl.market import MarketConfig

    seen = []
    passing = {"kurtosis": 8.0, "kurtosis_20": 4.0, "acf_1": 0.0, "acf_2_10_max_abs": 0.01,
               "abs_acf_1": 0.3, "abs_acf_10": 0.2, "abs_acf_20": 0.2, "abs_acf_50": 0.1,
               "hill": 3.0, "leverage": -0.1, "volume_corr": 0.3, "zero_share": 0.0}

    def fake(config, params, seeds, steps, burn_in, seed):
        (p,) = params
        jumps = float(p.fundamental.jump_prob) > 0
        seen.append((int(p.order_lifetime), config.clearing, jumps, seeds, steps, burn_in,
                     seed))
        if int(p.order_lifetime) == 7:  # the first candidate fails the volume fact (which
            # does not count without jumps) and, without jumps, kurtosis (which does)
            return [{**passing, "volume_corr": 0.0, "kurtosis": 8.0 if jumps else 1.0}]
        return [passing]

    monkeypatch.setattr(realism, "measure_many", fake)
    market = MarketConfig(clearing="auction", reactive=(("noise", 4),), background_orders=4)
    tag = lambda n: lambda p: p.replace(order_lifetime=n)  # noqa: E731
    out = verify.verify(market, [(3, 0.5, tag(7)), (4, 1.0, tag(8)), (5, 2.0, tag(9))],
                        ("auction", "cda"), 3, 400, 50, seed=5, log=lambda _: None)
    assert [s[:3] for s in seen] == [(7, "auction", True), (7, "auction", False),
                                     (7, "cda", True), (7, "cda", False),
                                     (8, "auction", True), (8, "auction", False),
                                     (8, "cda", True), (8, "cda", False)]  # 9: not needed
    assert all(s[3:] == (3, 400, 50, 5) for s in seen)
    assert out[0].failed == ("auction:volume_corr", "auction/no-jumps:kurtosis",
                             "cda:volume_corr", "cda/no-jumps:kurtosis")
    assert set(out[0].facts) == {"auction", "auction/no-jumps", "cda", "cda/no-jumps"}
    assert [v.index for v in out] == [3, 4] and out[1].failed == ()
    assert verify.choose(out).index == 4


def test_significant_rounds_to_digits_exactly():
    from experiments.calibrate import significant

    got = significant(np.array([[0.6841047537, 0.000691571594], [0.0, -3.14159]]), 4)
    assert got.tolist() == [[0.6841, 0.0006916], [0.0, -3.142]]
