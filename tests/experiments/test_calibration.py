"""The calibration tool's pieces: declared fields, the search, the SMM objective, targets."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.calibration import objective
from experiments.calibration.search import SearchSettings, search
from experiments.calibration.space import DEFAULT_FIELDS, FitField, make_space
from experiments.calibration.target import read_csv_target
from experiments.config import load_config
from experiments.settings import experiment_market
from quantmarl.market import MarketConfig, default_params
from quantmarl.quant.stylized import MOMENTS, moment_vector

CONFIG = MarketConfig(reactive=(("noise", 4), ("momentum", 2)), background_orders=4)
BASE = default_params(CONFIG)


# ------------------------------------------------------------------ declared fields


def test_default_fields_resolve_on_the_experiments_market():
    market = experiment_market()
    space = make_space(DEFAULT_FIELDS, market, default_params(market))
    assert space.dim == len(DEFAULT_FIELDS)


def test_shipped_defaults_are_the_calibrations_output():
    """Every field of docs/calibration/params.yaml (written by ``python -m
    experiments.calibrate``) is the default market's value, for every declared field."""
    from pathlib import Path

    import yaml

    from quantmarl.market.params_io import get_field, resolve_path

    fitted = yaml.safe_load((Path(__file__).parents[2] / "docs/calibration/params.yaml")
                            .read_text())
    assert set(fitted) == {f.path for f in DEFAULT_FIELDS}
    for market in (MarketConfig(), experiment_market(), MarketConfig(clearing="cda")):
        base = default_params(market)
        for path, value in fitted.items():
            got = float(np.asarray(get_field(base, resolve_path(path, market))))
            assert got == value, (path, got, value)


def test_space_maps_the_unit_cube_lin_log_and_int():
    space = make_space((FitField("background.excitation", 10.0, 20.0, "lin"),
                        FitField("fundamental.sigma", 1e-4, 1e-2, "log"),
                        FitField("order_lifetime", 1, 20, "lin")), CONFIG, BASE)
    v = space.values(np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.49], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(v[:, 0], [10, 15, 20])
    np.testing.assert_allclose(v[:, 1], [1e-4, 1e-3, 1e-2], rtol=1e-12)
    np.testing.assert_array_equal(v[:, 2], [1, 10, 20])
    batch = space.batch(BASE, v)
    assert batch.background.excitation.shape == (3,)
    assert batch.order_lifetime.dtype == jnp.int32 and batch.order_lifetime.tolist() == [1, 10, 20]
    weak = jnp.asarray(BASE.background.excitation).weak_type
    assert batch.background.excitation.weak_type == weak
    assert batch.fundamental.kappa.shape == (3,)  # undeclared leaves broadcast
    assert space.mapping(v[1]) == {"background.excitation": 15.0,
                                   "fundamental.sigma": pytest.approx(1e-3),
                                   "order_lifetime": 10}
    one = space.one(BASE, v[2])
    assert float(one.background.excitation) == 20.0 and int(one.order_lifetime) == 20


@pytest.mark.parametrize("fields, match", [
    ((FitField("background.nope", 0, 1),), "fields 'background.nope': unknown field"),
    ((FitField("behaviours.fundamental.size_hi", 1, 2),), "behaviours has blocks"),
    ((FitField("fundamental.sigma", 0.1, 0.2), FitField("fundamental.sigma", 0.1, 0.3)),
     "declared twice"),
    ((FitField("background.decay", 0.5, 1.5),), r"fields 'background.decay': bound hi=1.5"),
    ((FitField("initial_price", 100, 200),), "only scalar fields"),
    ((), "at least one field"),
])
def test_make_space_errors_name_the_field(fields, match):
    with pytest.raises(ValueError, match=match):
        make_space(fields, CONFIG, BASE)


@pytest.mark.parametrize("kw, match", [
    ({"lo": 2.0, "hi": 1.0}, "lo must be < hi"),
    ({"lo": 0.0, "hi": 1.0, "scale": "log"}, r"lo \(log scale\)"),
    ({"lo": float("nan"), "hi": 1.0}, "lo must be finite"),
])
def test_fit_field_bounds(kw, match):
    with pytest.raises(ValueError, match=f"fields 'fundamental.sigma'.*{match}"):
        FitField("fundamental.sigma", **kw)


def test_joint_constraints_are_checked_per_candidate():
    space = make_space((FitField("behaviours.momentum.threshold_lo", 0.001, 0.02, "lin"),
                        FitField("behaviours.momentum.threshold_hi", 0.011, 0.03, "lin")),
                       CONFIG, BASE)
    ok = space.valid(CONFIG, BASE, np.array([[0.001, 0.02], [0.02, 0.015]]))
    assert ok.tolist() == [True, False]


def test_fields_load_from_a_config_file(tmp_path):
    from experiments.calibrate import CalibrateConfig

    (tmp_path / "c.yaml").write_text(
        "market: {clearing: cda, background_orders: 8}\n"
        "fields:\n  - {path: background.excitation, lo: 0, hi: 100}\n"
        "  - {path: fundamental.sigma, lo: 0.0001, hi: 0.01, scale: log}\n")
    cfg = load_config(CalibrateConfig, tmp_path / "c.yaml", quick=True)
    assert cfg.market.clearing == "cda" and cfg.market.background_orders == 8
    assert cfg.fields == (FitField("background.excitation", 0.0, 100.0),
                          FitField("fundamental.sigma", 1e-4, 1e-2, "log"))
    (tmp_path / "d.yaml").write_text("fields:\n  - {path: x, lo: 0, hi: 1, scale: sqrt}\n")
    with pytest.raises(ValueError, match="fields\\[0\\].scale"):
        load_config(CalibrateConfig, tmp_path / "d.yaml")


# ------------------------------------------------------------------ search and objective


def test_search_recovers_a_quadratic_optimum():
    opt = np.array([0.3, 0.72, 0.5])
    seen = []

    def evaluate(u):
        seen.append(u.shape[0])
        return np.sum((u - opt) ** 2, axis=1)

    res = search(evaluate, 3, SearchSettings(batch=32, initial_batches=2, rounds=8, seed=1))
    np.testing.assert_allclose(res.best, opt, atol=0.03)
    assert set(seen) == {32} and len(res.rounds) == 9
    best = [r.best_loss for r in res.rounds]
    assert best == sorted(best, reverse=True) and best[-1] < best[0]


def test_search_starts_from_the_given_point_and_never_ends_worse():
    start = np.array([0.25, 0.6])
    first = []

    def evaluate(u):
        first.append(u[0].copy())
        return np.where(np.all(u == start, axis=1), 0.0, 1.0 + u[:, 0])  # start is optimal

    res = search(evaluate, 2, SearchSettings(batch=8, rounds=2, seed=3), start=start)
    np.testing.assert_array_equal(first[0], start)
    np.testing.assert_array_equal(res.best, start)
    assert res.best_loss == 0.0


def test_space_unit_inverts_values_and_clips():
    space = make_space((FitField("background.excitation", 10.0, 20.0, "lin"),
                        FitField("fundamental.sigma", 1e-4, 1e-2, "log")), CONFIG, BASE)
    u = np.array([[0.0, 0.0], [0.3, 0.7], [1.0, 1.0]])
    np.testing.assert_allclose(space.unit(space.values(u)), u, atol=1e-12)
    np.testing.assert_array_equal(space.unit(np.array([5.0, 1.0])), [0.0, 1.0])


def test_smm_recovers_the_parameter_of_a_fake_simulator():
    """Moments = (theta, theta^2) + seed noise shared by all candidates; the real moments
    come from theta = 0.4 with other noise: the fit lands near 0.4."""
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.02, (8, 2))  # common random numbers: one draw for all candidates
    real = np.array([0.4, 0.16])

    def simulate(theta):  # [P] -> [P, seeds, M]
        return np.stack([theta, theta**2], -1)[:, None, :] + noise

    scale = objective.spread_scale(simulate(np.linspace(0, 1, 16)), real)
    mask = np.ones(2, bool)
    res = search(lambda u: objective.loss(simulate(u[:, 0]), real, scale, mask), 1,
                 SearchSettings(batch=16, rounds=5))
    assert abs(res.best[0] - 0.4) < 0.03


def test_search_skips_non_finite_losses_and_fails_when_all_are():
    res = search(lambda u: np.where(u[:, 0] < 0.5, np.nan, u[:, 0]), 1,
                 SearchSettings(batch=8, rounds=2))
    assert res.rounds[0].n_invalid > 0 and 0.5 <= res.best[0] < 0.6
    with pytest.raises(ValueError, match="non-finite loss"):
        search(lambda u: np.full(u.shape[0], np.inf), 2, SearchSettings(batch=4, rounds=1))


def test_objective_scale_loss_and_mask():
    sim = np.array([[[1.0, 0.0], [3.0, 0.0]], [[2.0, np.nan], [2.0, np.nan]]])  # [P, N, M]
    real = np.array([2.0, 0.0])
    scale = objective.spread_scale(sim, real)
    assert scale[0] == pytest.approx(np.median([np.std([1, 3], ddof=1), 0.0]))
    assert scale[1] == objective.SCALE_FLOOR[0]
    out = objective.loss(sim, real, scale, np.array([True, True]))
    assert out[0] == pytest.approx(0.0) and out[1] == np.inf
    assert objective.loss(sim, real, scale, np.array([True, False]))[1] == pytest.approx(0.0)
    mask = objective.moment_mask(np.r_[np.ones(len(MOMENTS) - 1), np.nan], objective.MOMENT_NAMES)
    assert mask.sum() == len(MOMENTS) - 1
    with pytest.raises(ValueError, match="unknown"):
        objective.moment_mask(np.ones(len(MOMENTS)), ("kurtosis_1", "nope"))


def test_series_moments_match_moment_vector():
    rng = np.random.default_rng(4)
    close = np.round(1e4 * np.exp(np.cumsum(rng.normal(0, 0.002, (2, 3, 150, 2)), 2)))
    volume = rng.integers(0, 50, close.shape)
    out = np.asarray(objective.series_moments(jnp.asarray(close, jnp.int64),
                                              jnp.asarray(volume, jnp.int64)))
    assert out.shape == (2, 6, len(MOMENTS))
    r = np.diff(np.log(close[1, 2, :, 1]))
    want = np.asarray(moment_vector(r, volume[1, 2, 1:, 1].astype(float)))
    np.testing.assert_allclose(out[1, 2 * 2 + 1], want, rtol=1e-10)  # seed 2, asset 1


# ------------------------------------------------------------------ targets


def _csv(tmp_path, text):
    p = tmp_path / "t.csv"
    p.write_text(text)
    return p


def _prices(n=120):
    return 100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, n)))


def test_csv_target_sorted_by_date_with_volume(tmp_path):
    px = _prices()
    dates = np.datetime64("2020-01-01") + np.arange(px.size)
    order = np.random.default_rng(6).permutation(px.size)
    rows = "".join(f"{dates[i]},{float(px[i])!r},{i}\n" for i in order)
    t = read_csv_target(_csv(tmp_path, "Date,Close,Volume\n" + rows))
    np.testing.assert_array_equal(t.close, px)
    np.testing.assert_array_equal(t.volume, np.arange(px.size))
    t2 = read_csv_target(_csv(tmp_path, "close\n" + "".join(f"{float(p)!r}\n" for p in px)))
    np.testing.assert_array_equal(t2.close, px) and t2.volume is None
    assert t2.log_returns().shape == (px.size - 1,)


@pytest.mark.parametrize("text, match", [
    ("price\n1\n", "needs a 'close' column, found \\['price'\\]"),
    ("close\n" + "1\n" * 50, "close needs >= 101 rows"),
    ("close\n" + "1\n" * 150 + "-1\n", "close must be positive and finite, row 150"),
    ("close\n" + "1\n" * 150 + "x\n", "column 'close' must be numeric, row 150"),
    ("close,volume\n" + "1,1\n" * 150 + "1,-3\n", "volume must be >= 0"),
    ("date,close\n" + "2020-01-01,1\n" * 150, "repeated dates"),
    ("date,close\n" + "soon,1\n" * 150, "row 0 is not a date"),
])
def test_csv_target_errors(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_csv_target(_csv(tmp_path, text))


def test_missing_csv_and_sp500():
    with pytest.raises(ValueError, match="does not exist"):
        read_csv_target("/no/such/file.csv")
    pytest.importorskip("arch")
    from experiments.calibration.target import sp500

    t = sp500()
    assert t.close.shape[0] > 5000 and t.volume is not None and np.all(t.close > 0)
