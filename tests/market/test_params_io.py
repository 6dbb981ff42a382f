"""market.params_io: dotted paths, overrides and the params YAML round trip."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.market import MarketConfig, default_params, validate_params
from quantmarl.market import params_io as pio

CONFIG = MarketConfig(reactive=(("noise", 4), ("momentum", 2)))


def test_resolve_path_by_index_and_by_behaviour_name():
    assert pio.resolve_path("background.excitation") == ("background", "excitation")
    assert pio.resolve_path("behaviours.1.threshold_hi", CONFIG) == (
        "behaviours", 1, "threshold_hi")
    assert pio.resolve_path("behaviours.momentum.threshold_hi", CONFIG) == (
        "behaviours", 1, "threshold_hi")


@pytest.mark.parametrize("path, match", [
    ("background.nope", "'nope' is not in background"),
    ("nope", "'nope' is not in MarketParams"),
    ("behaviours.2.size_lo", "behaviours has blocks 0..1"),
    ("behaviours.fundamental.size_lo", "behaviours has blocks"),
    ("fundamental", "not a numeric leaf"),
    ("risk.allow_short", "not a numeric leaf"),
    ("fundamental.sigma.x", "accepted: none, a leaf"),
    ("", "non-empty string"),
])
def test_resolve_path_errors_name_the_field(path, match):
    with pytest.raises(ValueError, match=match):
        pio.resolve_path(path, CONFIG)


def test_apply_overrides_keeps_dtypes_and_weak_types():
    base = default_params(CONFIG)
    p = pio.apply_overrides(base, {"background": {"excitation": 80},
                                   "behaviours.momentum.threshold_hi": 0.004,
                                   "initial_price": [20_000], "order_lifetime": 7}, CONFIG)
    assert float(p.background.excitation) == 80.0
    assert p.background.excitation.dtype == base.background.excitation.dtype
    assert p.behaviours[1].threshold_hi == 0.004 and p.behaviours[0] == base.behaviours[0]
    assert p.initial_price.dtype == jnp.int64 and p.initial_price.tolist() == [20_000]
    assert p.order_lifetime.dtype == jnp.int32 and int(p.order_lifetime) == 7
    kinds = jax.tree.map(lambda a, b: (jnp.asarray(a).dtype, jnp.asarray(a).weak_type)
                         == (jnp.asarray(b).dtype, jnp.asarray(b).weak_type), p, base)
    assert all(jax.tree.leaves(kinds))  # a scan carry would refuse a changed dtype


@pytest.mark.parametrize("mapping, match", [
    ({"initial_price": [1.5]}, "initial_price must hold integers"),
    ({"initial_price": 20_000}, r"initial_price must be a number array of shape \(1,\)"),
    ({"background.decay": 2.0}, r"background.decay must be a number in \[0.0, 0.9999\]"),
    ({"behaviours.momentum.threshold_hi": 1e-5}, r"behaviours.1 \(momentum\).*threshold_lo"),
    ({"behaviours.0.size_lo": "x"}, "behaviours.0.size_lo must be a number"),
    ({"background.nope": 1.0}, "unknown field 'background.nope'"),
])
def test_apply_overrides_refuses_bad_values(mapping, match):
    with pytest.raises(ValueError, match=match):
        pio.apply_overrides(default_params(CONFIG), mapping, CONFIG)


def test_yaml_round_trip(tmp_path):
    values = {"background.excitation": 123.5, "fundamental.sigma": 0.002,
              "behaviours.momentum.threshold_hi": 0.02, "order_lifetime": 12}
    path = pio.dump_params_yaml(values, tmp_path / "p.yaml", header="fitted\nline two")
    text = path.read_text()
    assert text.startswith("# fitted\n# line two\n")
    p = pio.load_params_yaml(path, CONFIG)
    validate_params(CONFIG, p)
    for name, v in values.items():
        got = pio.get_field(p, pio.resolve_path(name, CONFIG))
        assert float(np.asarray(got)) == v, name
    assert float(p.background.decay) == float(default_params(CONFIG).background.decay)


def test_load_params_yaml_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        pio.load_params_yaml(tmp_path / "missing.yaml", CONFIG)
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        pio.load_params_yaml(tmp_path / "bad.yaml", CONFIG)
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        pio.load_params_yaml(tmp_path / "list.yaml", CONFIG)
    (tmp_path / "empty.yaml").write_text("")
    empty = pio.load_params_yaml(tmp_path / "empty.yaml", CONFIG)
    assert float(empty.background.excitation) == float(
        default_params(CONFIG).background.excitation)
