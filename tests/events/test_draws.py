"""Random stress events per episode (quantmarl.events.draws) and their use by the env's
reset and the trainer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.events import (
    STRESS_KINDS,
    EventKind,
    draw_schedule,
    empty_schedule,
    event_is_valid,
    no_random_stress,
    random_stress,
)
from quantmarl.events.draws import DEFAULT_RANGES
from quantmarl.events.schedule import Event

L, A, CAP = 200, 2, 8


def _draws(spec, n, length=L):
    keys = jax.random.split(jax.random.key(3), n)
    return jax.jit(jax.vmap(lambda k: draw_schedule(k, spec, length, A, CAP)))(keys)


def test_no_random_stress_draws_the_empty_schedule():
    s = draw_schedule(jax.random.key(0), no_random_stress(), L, A, CAP)
    e = empty_schedule(CAP)
    for name in ("kind", "start", "duration", "magnitude", "asset"):
        np.testing.assert_array_equal(np.asarray(getattr(s, name)), np.asarray(getattr(e, name)))


def test_every_drawn_event_is_valid_and_within_its_ranges():
    s = _draws(random_stress(1.0), 500)
    kind, start, dur = (np.asarray(x) for x in (s.kind, s.start, s.duration))
    mag, asset = np.asarray(s.magnitude), np.asarray(s.asset)
    codes = [EventKind.FLASH_CRASH, EventKind.FLASH_RALLY, EventKind.VOLATILITY_SPIKE,
             EventKind.LIQUIDITY_SHOCK, EventKind.NEWS]
    np.testing.assert_array_equal(kind[:, :5], np.broadcast_to(codes, (500, 5)))
    assert (kind[:, 5:] == EventKind.NONE).all()
    for i, name in enumerate(STRESS_KINDS):
        (m_lo, m_hi), (d_lo, d_hi) = DEFAULT_RANGES[name]
        assert (mag[:, i] >= np.float32(m_lo)).all() and (mag[:, i] <= np.float32(m_hi)).all()
        assert (dur[:, i] >= d_lo).all() and (dur[:, i] <= d_hi).all()
        assert dur[:, i].min() < dur[:, i].max() or d_lo == d_hi  # durations do vary
        assert (start[:, i] >= 1).all() and (start[:, i] <= np.maximum(L - dur[:, i], 1)).all()
        # uniform magnitudes: the mean is the midpoint (sd of the mean ~ range / 77)
        assert abs(mag[:, i].mean() - (m_lo + m_hi) / 2) < (m_hi - m_lo) * 0.06
    assert set(np.unique(asset[:, :5])) == set(range(A))
    rows = jax.vmap(jax.vmap(lambda *f: event_is_valid(Event(*f))))(
        s.kind[:, :5], s.start[:, :5], s.duration[:, :5], s.magnitude[:, :5], s.asset[:, :5])
    assert bool(jnp.all(rows))


def test_each_kind_occurs_with_its_probability():
    spec = random_stress({"flash_crash": 0.3, "news": 0.7})
    kind = np.asarray(_draws(spec, 2000).kind)
    for i, p in ((0, 0.3), (4, 0.7)):
        share = (kind[:, i] != EventKind.NONE).mean()
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / 2000), (i, share)
    assert (kind[:, [1, 2, 3]] == EventKind.NONE).all()  # probability 0: never


def test_short_episodes_start_events_at_step_one_at_the_latest_possible():
    s = _draws(random_stress({"volatility_spike": 1.0},
                             {"volatility_spike": ((2.0, 2.0), (30, 30))}), 50, length=20)
    assert (np.asarray(s.start)[:, 2] == 1).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(prob=1.5), r"random_stress.flash_crash.prob must be in \[0, 1\]"),
    (dict(prob={"meteor": 0.1}), "unknown event kind 'meteor'"),
    (dict(ranges={"flash_crash": ((0.1, 1.2), (1, 5))}),
     r"flash_crash.magnitude high end must be in \(0, 1\)"),
    (dict(ranges={"volatility_spike": ((3.0, 2.0), (1, 5))}), "lo <= hi"),
    (dict(ranges={"liquidity_shock": ((0.5, 2.0), (1, 5))}),
     r"liquidity_shock.magnitude low end must be in \[1, inf\)"),
    (dict(ranges={"news": ((-0.1, 0.1), (1, 3))}), r"news.duration must be \(1, 1\)"),
    (dict(ranges={"flash_rally": ((0.1, 0.2), (0, 3))}), r"flash_rally.duration\[0\]"),
])
def test_bad_specs_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_stress(**kwargs)


def test_a_table_too_small_for_the_kinds_is_refused():
    with pytest.raises(ValueError, match="max_events must be >= 5"):
        draw_schedule(jax.random.key(0), no_random_stress(), L, A, 4)


def test_env_reset_draws_the_episode_events_and_keeps_the_market_draws():
    from quantmarl.env.functional import MarketEnv
    from quantmarl.env.types import AgentGroup, EnvConfig
    from quantmarl.rl.config import train_market

    market = train_market(episode_length=40, background_orders=8,
                          reactive=(("market_maker", 2), ("noise", 8)))
    env = MarketEnv(EnvConfig(groups=(AgentGroup(name="m", action="discrete"),),
                              market=market))
    calm = env.default_params
    crash = calm.replace(stress=random_stress({"flash_crash": 1.0},
                                              {"flash_crash": ((0.3, 0.3), (3, 3))}))
    hold = {a: jnp.asarray(2, jnp.int32) for a in env.agents}  # Discrete(3): 2 = hold

    def path(params):
        def body(state, k):
            _, state, *_, record = env.step_with_record(k, state, hold, params)
            return state, record.close[0]
        _, state = env.reset(jax.random.key(7), params)
        _, prices = jax.lax.scan(body, state, jax.random.split(jax.random.key(8), 40))
        return state.market.injected, prices

    events, stressed = jax.jit(path)(crash)
    none, calm_prices = jax.jit(path)(calm)
    start = int(events.start[0])
    assert int(events.kind[0]) == EventKind.FLASH_CRASH and int(none.kind[0]) == 0
    stressed, calm_prices = np.asarray(stressed), np.asarray(calm_prices)
    # common random numbers: identical until the event starts, then the crash acts
    np.testing.assert_array_equal(stressed[:start], calm_prices[:start])
    assert stressed[start + 2] < calm_prices[start + 2]


def test_trainer_trains_under_random_stress_when_asked():
    from quantmarl.rl import TrainConfig, make_trainer

    with pytest.raises(ValueError, match="stress_prob"):
        TrainConfig(stress_prob=2.0)
    trainer = make_trainer(TrainConfig(stress_prob=0.5, n_envs=2, n_steps=4))
    np.testing.assert_array_equal(np.asarray(trainer.env_params.stress.prob), [0.5] * 5)
    assert float(make_trainer(TrainConfig()).env_params.stress.prob.max()) == 0.0
