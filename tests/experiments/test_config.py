"""Config loading: layers, unknown keys, types, ranges, YAML round trip."""

from __future__ import annotations

import pytest
import yaml

from experiments.config import check_range, config_to_dict, dump_config, load_config
from tests.experiments.dummy import DummyConfig, MarketPart


def _yaml(tmp_path, data, name="c.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_defaults_quick_file_overrides_in_order(tmp_path):
    assert load_config(DummyConfig) == DummyConfig()
    q = load_config(DummyConfig, quick=True)
    assert q.steps == 20 and q.market.n_assets == 1 and q.market.vol == 0.01
    f = _yaml(tmp_path, {"steps": 30, "market": {"vol": 0.2}})
    c = load_config(DummyConfig, f, {"seeds": 3}, quick=True)
    assert (c.steps, c.seeds, c.market.n_assets, c.market.vol) == (30, 3, 1, 0.2)
    # a whole nested instance, then a later layer changing one of its fields
    inst = load_config(DummyConfig, f, quick={"market": MarketPart(n_assets=3)})
    assert (inst.market.n_assets, inst.market.vol) == (3, 0.2)
    # an explicit quick mapping replaces the class's QUICK
    assert load_config(DummyConfig, quick={"label": "q"}).steps == 200


def test_types_are_coerced():
    c = load_config(DummyConfig, overrides={
        "shift": 2, "flags": [False], "threshold": 1,
        "market": {"behaviours": [["noise", 3]], "clearing": "auction"}})
    assert c.shift == 2.0 and isinstance(c.shift, float)
    assert c.flags == (False,) and c.threshold == 1.0
    assert c.market.behaviours == (("noise", 3),) and c.market.clearing == "auction"


@pytest.mark.parametrize("data, key", [
    ({"bogus": 1}, "'bogus'"),
    ({"market": {"foo": 1}}, "'market.foo'"),
    ({"market.foo": 1}, "'market.foo'"),
])
def test_unknown_key_names_it_and_lists_accepted(tmp_path, data, key):
    with pytest.raises(ValueError, match=key) as err:
        load_config(DummyConfig, _yaml(tmp_path, data))
    assert "accepted keys" in str(err.value)
    assert ("n_assets" if "market" in key else "steps") in str(err.value)


@pytest.mark.parametrize("overrides, field, expected", [
    ({"steps": True}, "steps", "int"),
    ({"steps": 2.5}, "steps", "int"),
    ({"steps": "10"}, "steps", "int"),
    ({"shift": "x"}, "shift", "float"),
    ({"label": 3}, "label", "str"),
    ({"flags": [1]}, r"flags\[0\]", "bool"),
    ({"market": {"n_assets": 1.0}}, "market.n_assets", "int"),
    ({"market": 5}, "market", "MarketPart"),
    ({"market": {"behaviours": [["noise"]]}}, r"market.behaviours\[0\]", "tuple"),
    ({"market": {"clearing": "batch"}}, "market.clearing", "one of 'cda', 'auction'"),
])
def test_wrong_type_names_field_type_and_value(overrides, field, expected):
    with pytest.raises(ValueError, match=field) as err:
        load_config(DummyConfig, overrides=overrides)
    assert expected in str(err.value)


def test_range_errors_from_post_init():
    with pytest.raises(ValueError, match=r"steps must be in \[1, 10000\], got 0"):
        load_config(DummyConfig, overrides={"steps": 0})
    with pytest.raises(ValueError, match=r"market.*n_assets must be in \[1, 8\], got 9"):
        load_config(DummyConfig, overrides={"market": {"n_assets": 9}})
    with pytest.raises(ValueError, match=r"vol must be in \(0.0, 1.0\], got 0.0"):
        MarketPart(vol=0.0)
    with pytest.raises(ValueError, match=r"seeds must be in \[2, inf\), got 1"):
        load_config(DummyConfig, overrides={"seeds": 1})


def test_check_range_messages():
    check_range("x", 5, 0, 5)
    with pytest.raises(ValueError, match=r"x must be in \[0, 5\), got 5"):
        check_range("x", 5, 0, 5, hi_open=True)
    with pytest.raises(ValueError, match=r"y must be in \(-inf, 1\], got 2"):
        check_range("y", 2, hi=1)


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_config(DummyConfig, tmp_path / "missing.yaml")
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        load_config(DummyConfig, p)
    p.write_text("steps: [1\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(DummyConfig, p)
    p.write_text("")
    assert load_config(DummyConfig, p) == DummyConfig()


def test_yaml_round_trip(tmp_path):
    cfg = load_config(DummyConfig, overrides={"threshold": 0.3, "market.vol": 1e-4,
                                              "market.behaviours": [["a", 1], ["b", 2]]})
    d = config_to_dict(cfg)
    assert d["market"]["behaviours"] == [["a", 1], ["b", 2]] and d["flags"] == [True, False]
    path = dump_config(cfg, tmp_path / "config.yaml")
    assert load_config(DummyConfig, path) == cfg
    default = dump_config(DummyConfig(), tmp_path / "d.yaml")
    assert load_config(DummyConfig, default) == DummyConfig()
