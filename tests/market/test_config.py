"""Config and params validation: clear errors naming field, value and range."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from quantmarl.market.config import MarketConfig, default_params, validate_params


def test_defaults_are_valid_and_hashable():
    cfg = MarketConfig()
    assert hash(cfg) == hash(MarketConfig())
    assert cfg.n_agents == cfg.n_smart + cfg.n_reactive == 60
    validate_params(cfg, default_params(cfg))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_assets": 0}, r"n_assets must be an int in \[1, 256\], got 0"),
        ({"clearing": "dark"}, r"clearing must be one of \('cda', 'auction'\), got 'dark'"),
        ({"book_capacity": 2.5}, r"book_capacity must be an int"),
        ({"reactive": (("noise", -1),)}, r"reactive\[0\] count \(noise\) must be an int"),
        ({"reactive": (("noise", 1), ("noise", 2))}, r"listed twice"),
        ({"reactive": [("noise", 1)]}, r"reactive must be a tuple"),
        ({"history": 1}, r"history must be an int in \[2, 4096\]"),
        ({"agent_prng": "mt19937"}, r"agent_prng must be one of .*got 'mt19937'"),
    ],
)
def test_bad_config_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MarketConfig(**kwargs)


def test_bad_params_name_the_field():
    cfg = MarketConfig(n_assets=2)
    good = default_params(cfg)
    fund = good.fundamental
    cases = [
        (good.replace(initial_price=jnp.array([10_000, 10_000], jnp.int32)),
         "initial_price must have dtype int64"),
        (good.replace(initial_price=jnp.array([10_000], jnp.int64)),
         r"initial_price must have shape \(2,\)"),
        (good.replace(initial_price=jnp.array([100, 10_000], jnp.int64)),
         r"initial_price must lie in .* = \[257, .*got \[100, 10000\]"),
        (good.replace(fee_bps=jnp.asarray(20_000, jnp.int64)),
         r"fee_bps must be an int in \[0, 10000\], got 20000"),
        (good.replace(fundamental=fund.replace(sigma=jnp.asarray(-0.1))), "fundamental.sigma"),
        (good.replace(fundamental=fund.replace(correlation=jnp.array([[1.0, 2.0], [2.0, 1.0]]))),
         "positive semi-definite"),
        (good.replace(tick_size=jnp.asarray(0.0)), r"tick_size must be a number in \(0.0"),
        (good.replace(background=good.background.replace(value_pull=jnp.asarray(1.5))),
         r"background.value_pull must be a number in \[0.0, 1.0\], got 1.5"),
        (good.replace(quote_priority=jnp.asarray(1.5)),
         r"quote_priority must be a number in \[0.0, 1.0\], got 1.5"),
        (good.replace(replace_orders=jnp.asarray(-0.1)),
         r"replace_orders must be a number in \[0.0, 1.0\]"),
    ]
    for i, (params, match) in enumerate(cases):
        with pytest.raises(ValueError, match=match):
            validate_params(cfg, params)
            print("no error for case", i)


def _risk(p, min_cash=0, max_position=100, allow_short=True):
    return p.risk.replace(min_cash=jnp.asarray(min_cash, jnp.int64),
                          max_position=jnp.asarray(max_position, jnp.int64),
                          allow_short=jnp.asarray(allow_short))


@pytest.mark.parametrize(
    "fields,match",
    [
        ({"initial_cash": 999, "risk": {"min_cash": 1000}},
         r"initial_cash \(999\) must be >= risk.min_cash \(1000\)"),
        ({"initial_position": 101, "risk": {"max_position": 100}},
         r"initial_position \(101\) must lie in \[-risk.max_position, risk.max_position\] "
         r"= \[-100, 100\]"),
        ({"initial_position": -101, "risk": {"max_position": 100}},
         r"initial_position \(-101\) must lie in .* = \[-100, 100\]"),
        ({"initial_position": -1, "risk": {"allow_short": False}},
         r"initial_position \(-1\) must be >= 0 when risk.allow_short is False"),
    ],
)
def test_starting_values_beyond_their_limits_are_refused(fields, match):
    cfg = MarketConfig()
    p = default_params(cfg)
    p = p.replace(risk=_risk(p, **fields.pop("risk")),
                  **{k: jnp.asarray(v, jnp.int64) for k, v in fields.items()})
    with pytest.raises(ValueError, match=match):
        validate_params(cfg, p)


def test_starting_values_at_their_limits_are_accepted():
    cfg = MarketConfig()
    p = default_params(cfg)
    for cash, pos, short in ((1000, 100, True), (1000, -100, True), (1000, 0, False)):
        validate_params(cfg, p.replace(initial_cash=jnp.asarray(cash, jnp.int64),
                                       initial_position=jnp.asarray(pos, jnp.int64),
                                       risk=_risk(p, 1000, 100, short)))
