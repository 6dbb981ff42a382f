"""Renderers: the text frame (ladder, sparklines, learners, events, halts), the RGB frame,
human mode without a display, and the shells' render()."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env import AgentGroup, EnvConfig, MarketEnv
from quantmarl.env.pettingzoo import parallel_env
from quantmarl.env.render import (
    BARS,
    History,
    format_ladder,
    market_panel,
    render_ansi,
    render_human,
    render_rgb,
    sparkline,
)
from quantmarl.events import flash_crash, make_schedule
from quantmarl.market import MarketConfig

# same config as tests/env/test_pettingzoo.py, so the compiled functions are shared
MARKET = MarketConfig(reactive=(("market_maker", 2), ("noise", 8)), background_orders=16,
                      episode_length=30, clearing="cda", book_capacity=32)
CONFIG = EnvConfig(groups=(AgentGroup("mm", 1, action="market_maker"), AgentGroup("trader", 2),
                           AgentGroup("lim", 1, action="limit")), market=MARKET)


@pytest.fixture(scope="module")
def stepped():
    e = parallel_env(config=CONFIG, render_mode="ansi")
    e.reset(seed=0)
    for i, a in enumerate(e.possible_agents):
        e.action_space(a).seed(i)
    for _ in range(12):
        e.step({a: e.action_space(a).sample() for a in e.agents})
    yield e
    e.close()


def test_ansi_has_ladder_sparkline_table_events(stepped):
    text = stepped.render()
    assert isinstance(text, str)
    assert "price (ticks)" in text and "spread" in text  # the ladder
    assert " ask " in text and " bid " in text
    assert any(ch in text for ch in BARS)  # sparklines
    assert "step 12/30" in text and "cda clearing" in text
    for agent in stepped.possible_agents:
        assert agent in text
    assert "events: none" in text and "halted: none" in text
    assert len(stepped.history) == 13  # reset + 12 steps


def test_rgb_frame(stepped):
    stepped.render_mode = "rgb_array"
    try:
        frame = stepped.render()
    finally:
        stepped.render_mode = "ansi"
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] > 100
    assert frame.min() < 100 < frame.max()  # something was drawn


def test_human_without_display_prints_text(stepped, capsys):
    stepped.render_mode = "human"
    try:
        assert stepped.render() is None
    finally:
        stepped.render_mode = "ansi"
    assert "price (ticks)" in capsys.readouterr().out


def test_no_render_mode_warns_and_returns_none():
    e = parallel_env(config=CONFIG)
    e.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert e.render() is None


def test_auction_market_events_and_halts():
    env = MarketEnv(EnvConfig(market=MarketConfig(reactive=(("noise", 4),), clearing="auction",
                                                  episode_length=20)))
    params = env.default_params
    params = params.replace(market=params.market.replace(
        schedule=make_schedule([flash_crash(0.1, 5, 0)], capacity=env.config.market.max_events)))
    _, state = env.reset(jax.random.key(0), params)
    market = state.market
    state = state.replace(market=market.replace(
        breaker=market.breaker.replace(halted_until=jnp.full_like(market.breaker.halted_until,
                                                                  10))))
    history = History(maxlen=4)
    for p in (10_000, 10_010, 9_990, 10_005, 10_020):
        history.append(p, 10_000)
    assert list(history.close) == [10_010, 9_990, 10_005, 10_020]  # bounded
    text = render_ansi(state, history, env, params)
    assert "batch auction" in text
    assert "flash_crash" in text and "steps 0..4" in text
    assert "halted: asset 0" in text
    assert "trader_0" in text and "+0" in text  # PnL at reset
    frame = render_rgb(state, history, env, params, size=(320, 240))
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    viewer = render_human(state, history, env, params)  # headless: prints, no window
    viewer.close()


def test_text_views_of_a_book_and_a_market():
    ladder = format_ladder(np.array([[99, 5], [98, 10]]), np.array([[101, 20]]), depth=2)
    lines = ladder.splitlines()
    assert "ask" in lines[1] and "101" in lines[1] and "spread 2" in lines[2]
    assert lines[1].count("#") == 30 and lines[3].count("#") == 8  # bars scale with qty
    assert "(one side empty)" in format_ladder(np.zeros((0, 2), int), np.array([[101, 1]]))
    assert sparkline([1, 1, 1]) == BARS[0] * 3 and sparkline([]) == ""
    assert sparkline([0, 7]) == BARS[0] + BARS[-1]
    panel = market_panel(12, [100, 103], [101, 101], [0, 4], [2, 3], [[5, 6], [7, 8]],
                         [False, True], extra="ladder")
    assert "step     12" in panel and "HALTED" in panel and "7 / 8" in panel
    assert panel.endswith("ladder")
