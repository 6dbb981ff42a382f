"""End-to-end PPO training under one ``jit``: rollouts and minibatch epochs in ``lax.scan``.

>>> from quantmarl.rl import TrainConfig, make_train
>>> train = make_train(TrainConfig(iterations=10))
>>> out = jax.jit(train)(jax.random.key(0))           # one seed
>>> outs = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 8))  # eight seeds

``make_trainer(config)`` exposes the pieces: ``init(key) -> RunnerState`` and
``run(runner, n_updates) -> (runner, metrics)``; ``train(key)`` is
``run(init(key), config.iterations)``. Because the runner state carries
everything (networks, optimiser states, environments, observations, key and
update count), running ``a`` updates, saving, restoring and running ``b`` more
gives exactly the result of running ``a + b`` at once.

Learners: one policy per group (``share_params``) or per learner (networks
vmapped over the group's agent axis), feedforward (``network="mlp"``) or with
a GRU memory (``network="gru"``). A recurrent policy's memory is carried
through rollouts and across updates (``RunnerState.carry``), zeroed where an
episode starts; its PPO minibatches are whole environment sequences, replayed
through the GRU from the rollout's first memory (as in PureJaxRL's PPO-RNN).
IPPO gives every group its own critic on its observations; MAPPO's critic also
sees the global state (every learner's observation), while the actor still acts
on its own observation.
Each group has its own Adam optimiser (gradient clipping by global norm, LR
annealed linearly to 0 when ``anneal_lr``. Frozen opponents
(``make_trainer(config, opponents=...)``, :class:`~quantmarl.rl.policy.Opponent`
groups; :func:`quantmarl.rl.checkpoint.load_opponents` reads them from the
checkpoints named in ``config.opponents``) act in the same market and are never
updated. Building a trainer reads no file.

Metrics, per update and group (``metrics[group][name]``, float32 ``[n_updates]``):
``episode_return`` (x ``reward_scale``; the critic learns these units, divided by the
running return std when ``normalize_reward``) and
``pnl`` (final marked wealth / initial wealth - 1), means over the episodes
that ended in the rollout (NaN if none ended); ``episodes``, ``reward``
(mean per step, scaled), ``policy_loss``,
``value_loss``, ``entropy``, ``approx_kl``, ``clip_frac``,
``explained_variance``, ``lr``. ``progress(update, metrics)`` is called on the
host once per update (per seed under ``vmap``) through ``jax.debug.callback``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from quantmarl.env.functional import EnvConfig, EnvParams, EnvState, MarketEnv
from quantmarl.events.draws import random_stress
from quantmarl.rl import normalize
from quantmarl.rl.config import TrainConfig
from quantmarl.rl.networks import carry_size, policy_step
from quantmarl.rl.normalize import normalizing
from quantmarl.rl.policy import Opponent, build_network, per_learner
from quantmarl.rl.ppo import explained_variance, gae, loss_fn
from quantmarl.rl.rollout import (
    clear_memory,
    episode_start,
    group_agents,
    group_nvec,
    make_rollout,
    stack_obs,
)

METRICS = ("episode_return", "pnl", "episodes", "reward", "policy_loss", "value_loss",
           "entropy", "approx_kl", "clip_frac", "explained_variance", "grad_norm", "lr")


def action_metric_names(nvec: tuple[int, ...]) -> tuple[str, ...]:
    """``action{c}_{v}``: the share of the update's actions whose component ``c`` is ``v``."""
    return tuple(f"action{c}_{v}" for c, n in enumerate(nvec) for v in range(n))


def action_frequencies(actions: jax.Array, nvec: tuple[int, ...]) -> dict[str, jax.Array]:
    """``{action{c}_{v}: float32 []}`` over ``actions`` int ``[..., len(nvec)]``."""
    return {f"action{c}_{v}": jnp.mean(actions[..., c] == v, dtype=jnp.float32)
            for c, n in enumerate(nvec) for v in range(n)}


@struct.dataclass
class RunnerState:
    params: dict  # group -> network params (leading [count] axis when not shared)
    opt_state: dict  # group -> optax state
    env_state: EnvState  # leading [n_envs]
    obs: dict  # agent -> float32 [n_envs, obs_dim]
    carry: dict  # group -> float32 [n_envs, count, carry_size] policy memory (size 0: MLP)
    reward_norm: dict  # learner group -> normalize.ReturnScaler ({} unless normalize_reward)
    key: jax.Array  # PRNG key
    update: jax.Array  # int32 [] updates done


class TrainOutput(NamedTuple):
    runner: RunnerState
    metrics: dict  # group -> name -> float32 [n_updates]


def build_env(config: TrainConfig, opponents: Sequence[Opponent] = ()) -> MarketEnv:
    """The env: learner groups first, then the opponents' groups (episodes are reset by
    the rollout, see :mod:`quantmarl.rl.rollout`)."""
    groups = config.groups() + tuple(o.group for o in opponents)
    return MarketEnv(EnvConfig(groups=groups, market=config.env_market(), auto_reset=False))


def build_env_params(config: TrainConfig, env: MarketEnv) -> EnvParams:
    """Default env params, with correlated fundamentals when there are several assets and
    random stress events (``config.stress_prob`` per kind and episode, the default
    ranges of :mod:`quantmarl.events.draws`)."""
    params = env.default_params.replace(stress=random_stress(config.stress_prob))
    a = env.config.market.n_assets
    if a > 1:
        corr = np.full((a, a), config.correlation) + (1.0 - config.correlation) * np.eye(a)
        fund = params.market.fundamental.replace(correlation=jnp.asarray(corr))
        params = params.replace(market=params.market.replace(fundamental=fund))
    return params


class Trainer:
    """``init(key) -> RunnerState``; ``run(runner, n) -> (runner, metrics)``; ``train(key)``."""

    def __init__(self, config: TrainConfig, *, opponents: Sequence[Opponent] = (),
                 env_params: EnvParams | None = None,
                 progress: Callable[[int, dict], None] | None = None):
        if config.opponents and not opponents:
            raise ValueError(
                f"opponents: config.opponents names {len(config.opponents)} checkpoint(s) but "
                "none were given; pass opponents=checkpoint.load_opponents(config.opponents, "
                "config.opponent_seed)")
        self.config = config
        self.opponents = tuple(opponents)
        self.env = build_env(config, self.opponents)
        self.env_params = build_env_params(config, self.env) if env_params is None else env_params
        self.progress = progress
        groups = group_agents(self.env)
        self.nvecs = group_nvec(self.env)
        names = list(groups)
        self.learners = names[: len(config.agent_types)]
        self.opponent_names = names[len(config.agent_types):]
        self.counts = {g: len(a) for g, a in groups.items()}
        self.obs_dims = {g: int(self.env.observation_space(a[0]).shape[0])
                         for g, a in groups.items()}
        self.global_dim = sum(self.obs_dims[g] * self.counts[g] for g in self.learners)
        mappo = config.algorithm == "mappo"
        self.networks = {
            g: build_network(config, self.nvecs[g], self.obs_dims[g] if mappo else None)
            for g in self.learners}
        self.recurrent = config.network == "gru"
        self.step_fns = {g: per_learner(normalizing(policy_step(self.networks[g])),
                                        config.share_params)
                         for g in self.learners}
        self.carry_sizes = {g: carry_size(self.networks[g]) for g in self.learners}
        for name, opp in zip(self.opponent_names, self.opponents, strict=True):
            self.step_fns[name] = per_learner(
                normalizing(policy_step(opp.network, actor_only=True)), opp.shared)
            self.carry_sizes[name] = carry_size(opp.network)
        #: every group reports these (action shares of another group's encoding: NaN)
        self.metric_names = METRICS + tuple(dict.fromkeys(
            n for g in self.learners for n in action_metric_names(self.nvecs[g])))
        self.n_updates_total = config.iterations
        total_steps = config.iterations * config.update_epochs * config.n_minibatches
        lr = (optax.linear_schedule(config.lr, 0.0, total_steps) if config.anneal_lr
              else config.lr)
        self._lr = lr
        self.tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                              optax.adam(lr, eps=1e-5))
        self._rollout = make_rollout(self.env, self.step_fns, config.n_steps,
                                     inputs_fn=self.inputs if mappo else None)

    # ----- pieces -----
    def inputs(self, g_obs: dict) -> dict:
        """MAPPO network inputs: learners get ``[own obs, global state]``."""
        flat = [g_obs[g].reshape(*g_obs[g].shape[:-2], -1) for g in self.learners]
        global_state = jnp.concatenate(flat, axis=-1)
        out = dict(g_obs)
        for g in self.learners:
            x = g_obs[g]
            glob = jnp.broadcast_to(global_state[..., None, :],
                                    (*x.shape[:-1], global_state.shape[-1]))
            out[g] = jnp.concatenate([x, glob], axis=-1)
        return out

    def _input_dim(self, g: str) -> int:
        mappo = self.config.algorithm == "mappo"
        return self.obs_dims[g] + (self.global_dim if mappo else 0)

    def _init_params(self, key: jax.Array) -> dict:
        params = {}
        for i, g in enumerate(self.learners):
            k = jax.random.fold_in(key, i)
            x = jnp.zeros((1, self._input_dim(g)), jnp.float32)
            net = self.networks[g]
            init = ((lambda k, x, n=net: n.init(k, n.initial_carry((1,)), x))
                    if self.recurrent else net.init)
            if self.config.normalize_obs:
                init = (lambda k, x, f=init: {**f(k, x),
                                              normalize.KEY: normalize.init_stats(x.shape[-1])})
            if self.config.share_params:
                params[g] = init(k, x)
            else:
                keys = jax.random.split(k, self.counts[g])
                params[g] = jax.vmap(init, in_axes=(0, None))(keys, x)
        return params

    def initial_carry(self, n_envs: int) -> dict:
        """Zero policy memory of every group: float32 ``[n_envs, count, carry_size]``."""
        return {g: jnp.zeros((n_envs, self.counts[g], k), jnp.float32)
                for g, k in self.carry_sizes.items()}

    def policy_params(self, params: dict) -> dict:
        """The learners' ``params`` and the frozen opponents' params, by group."""
        out = dict(params)
        for name, opp in zip(self.opponent_names, self.opponents, strict=True):
            out[name] = opp.params
        return out

    # ----- public -----
    def init(self, key: jax.Array) -> RunnerState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        params = self._init_params(k_net)
        opt_state = {g: self.tx.init(normalize.split(params[g])[0]) for g in self.learners}
        reset = jax.vmap(self.env.reset, in_axes=(0, None))
        obs, env_state = reset(jax.random.split(k_env, self.config.n_envs), self.env_params)
        scalers = ({g: normalize.init_scaler(self.config.n_envs, self.counts[g])
                    for g in self.learners} if self.config.normalize_reward else {})
        return RunnerState(params=params, opt_state=opt_state, env_state=env_state, obs=obs,
                           carry=self.initial_carry(self.config.n_envs), reward_norm=scalers,
                           key=k_run, update=jnp.zeros((), jnp.int32))

    def run(self, runner: RunnerState, n_updates: int) -> TrainOutput:
        """``n_updates`` PPO updates (static count) in one ``lax.scan``."""
        runner, metrics = jax.lax.scan(lambda r, _: self._update(r), runner, None,
                                       length=int(n_updates))
        return TrainOutput(runner, metrics)

    def train(self, key: jax.Array) -> TrainOutput:
        return self.run(self.init(key), self.config.iterations)

    def last_values(self, runner: RunnerState) -> dict:
        g_obs = stack_obs(self.env, runner.obs)
        if self.config.algorithm == "mappo":
            g_obs = self.inputs(g_obs)
        first = episode_start(runner.env_state)
        return {g: self.step_fns[g](runner.params[g], clear_memory(runner.carry[g], first),
                                    g_obs[g])[2] for g in self.learners}

    # ----- one update -----
    def _update(self, runner: RunnerState) -> tuple[RunnerState, dict]:
        c = self.config
        key, k_roll, k_epochs = jax.random.split(runner.key, 3)
        env_state, obs, carry, traj = self._rollout(
            k_roll, runner.env_state, runner.obs, runner.carry,
            self.policy_params(runner.params), self.env_params)
        last = self.last_values(runner.replace(env_state=env_state, obs=obs, carry=carry))
        params, opt_state, metrics, scalers = {}, {}, {}, dict(runner.reward_norm)
        for gi, g in enumerate(self.learners):
            t = traj[g]
            t = t.replace(reward=t.reward * c.reward_scale,
                          episode_return=t.episode_return * c.reward_scale)
            reward = t.reward
            if g in scalers:
                scalers[g], reward = normalize.scale_rewards(scalers[g], reward, t.done,
                                                             c.gamma)
            adv, ret = gae(reward, t.value, t.done, last[g], c.gamma, c.gae_lambda)
            batch = {"obs": t.obs, "actions": t.action, "old_log_probs": t.log_prob,
                     "old_values": t.value, "advantages": adv, "returns": ret}
            batch = self._batch(batch, t.first, runner.carry[g])
            trainable, stats = normalize.split(runner.params[g])
            trainable, opt_state[g], m = self._epochs(
                g, trainable, stats, runner.opt_state[g], batch,
                jax.random.fold_in(k_epochs, gi))
            params[g] = normalize.join(trainable, self._observed(stats, t.obs))
            done = t.done.astype(jnp.float32)
            n_done = done.sum()
            mean_at_done = lambda x, d=done, n=n_done: jnp.where(  # noqa: E731
                n > 0, (x * d).sum() / jnp.maximum(n, 1.0), jnp.nan)
            m.update(episode_return=mean_at_done(t.episode_return), pnl=mean_at_done(t.pnl),
                     episodes=n_done, reward=t.reward.mean(),
                     explained_variance=explained_variance(t.value, ret),
                     lr=jnp.asarray(self._lr(runner.update * c.update_epochs * c.n_minibatches)
                                    if callable(self._lr) else self._lr, jnp.float32))
            m.update(action_frequencies(t.action, self.nvecs[g]))
            metrics[g] = {k: jnp.asarray(m.get(k, jnp.nan), jnp.float32)
                          for k in self.metric_names}
        update = runner.update + 1
        if self.progress is not None:
            jax.debug.callback(self.progress, update, metrics)
        return RunnerState(params=params, opt_state=opt_state, env_state=env_state, obs=obs,
                           carry=carry, reward_norm=scalers, key=key, update=update), metrics

    def _batch(self, batch: dict, first: jax.Array, carry0: jax.Array) -> dict:
        """The update's samples, leaves ``[T, E, count, ...]`` -> minibatchable leaves.

        Feedforward: single steps, ``[T * E (* count), ...]`` (sample axis 0).
        Recurrent: sequences, ``[T, E * count, 1, ...]`` (shared params: one sequence per
        learner) or ``[T, E, count, ...]`` (per-learner params), sample axis 1; ``obs``
        becomes ``{"x", "first", "carry"}``, ``carry [1, ...]`` the memory at the rollout's
        start.
        """
        shared = self.config.share_params
        if not self.recurrent:
            lead = 3 if shared else 2  # flatten [T, E(, count)]
            return jax.tree.map(lambda x: x.reshape(-1, *x.shape[lead:]), batch)
        batch = {**batch, "obs": {"x": batch["obs"], "first": first, "carry": carry0[None]}}
        if shared:
            batch = jax.tree.map(lambda x: x.reshape(x.shape[0], -1, 1, *x.shape[3:]), batch)
        return batch

    def _loss_apply(self, g: str) -> Callable:
        """``apply(params, obs) -> (logits, values)`` over one minibatch of :meth:`_batch`."""
        step = self.step_fns[g]
        if not self.recurrent:
            return lambda p, x: step(p, jnp.zeros((*x.shape[:-1], 0), jnp.float32), x)[1:]

        def replay(p, obs):  # the GRU over whole sequences, memory zeroed at episode starts
            def body(carry, xs):
                x, first = xs  # first [B, count]: an env-level flag, the same for all learners
                carry, logits, value = step(p, clear_memory(carry, first[..., 0]), x)
                return carry, (logits, value)

            _, out = jax.lax.scan(body, obs["carry"][0], (obs["x"], obs["first"]))
            return out

        return replay

    def _observed(self, stats, obs: jax.Array):
        """``stats`` updated with a rollout's inputs ``obs`` ``[T, E, count, d]`` (per learner
        when params are not shared); None stays None."""
        if stats is None:
            return None
        if self.config.share_params:
            return normalize.update(stats, obs)
        return jax.vmap(normalize.update, in_axes=(0, -2))(stats, obs)

    def _epochs(self, g: str, params, stats, opt_state, batch: dict, key: jax.Array):
        """PPO epochs on the trainable ``params``; the policy standardises its inputs with
        the rollout's ``stats`` (None: no normalisation)."""
        c = self.config
        axis = 1 if self.recurrent else 0  # the sample axis of :meth:`_batch`'s leaves
        n = batch["advantages"].shape[axis]
        coefs = dict(clip_eps=c.clip_eps, vf_coef=c.vf_coef, ent_coef=c.ent_coef,
                     clip_value=c.clip_value)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        full_apply = self._loss_apply(g)
        apply = lambda p, x: full_apply(normalize.join(p, stats), x)  # noqa: E731

        def minibatch(carry, mb):
            p, s = carry
            (_, m), grads = grad_fn(p, apply, mb, self.nvecs[g], **coefs)
            updates, s = self.tx.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), {**m,
                                                          "grad_norm": _norm(grads)}

        def split(x, perm):  # shuffle the sample axis, cut it into minibatches (leading)
            x = jnp.moveaxis(jnp.take(x, perm, axis=axis), axis, 0)
            x = x.reshape(c.n_minibatches, -1, *x.shape[1:])
            return jnp.moveaxis(x, 1, axis + 1)

        def epoch(carry, k):
            perm = jax.random.permutation(k, n)
            return jax.lax.scan(minibatch, carry, jax.tree.map(lambda x: split(x, perm), batch))

        (params, opt_state), m = jax.lax.scan(epoch, (params, opt_state),
                                              jax.random.split(key, c.update_epochs))
        return params, opt_state, jax.tree.map(jnp.mean, m)


def _norm(tree) -> jax.Array:
    """Global L2 norm of a pytree of arrays (before clipping), float32 []."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def make_trainer(config: TrainConfig, **kwargs: Any) -> Trainer:
    """A :class:`Trainer` (keywords: ``opponents``, ``env_params``, ``progress``)."""
    return Trainer(config, **kwargs)


def make_train(config: TrainConfig, **kwargs: Any) -> Callable[[jax.Array], TrainOutput]:
    """``train(key) -> TrainOutput``: jittable and vmappable over keys (seeds)."""
    return make_trainer(config, **kwargs).train


def seed_keys(config: TrainConfig) -> jax.Array:
    """``config.seeds`` keys derived from ``config.seed``."""
    return jax.random.split(jax.random.key(config.seed), config.seeds)

