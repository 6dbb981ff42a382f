"""Renderers: text views of a book and a market (:func:`format_ladder`, :func:`sparkline`,
:func:`market_panel`; numpy in, str out), and the environment shells' ``ansi`` (text),
``rgb_array`` (matplotlib Agg) and ``human`` (an interactive matplotlib window, or the
text view printed where no interactive backend is available).

Everything here is host-side numpy on an :class:`~quantmarl.env.functional.EnvState`
fetched from the device; no market logic. The shells keep a :class:`History`
(bounded deques of closes and fundamentals of asset 0) to draw price charts.

Timing convention: "active events" and "halted" describe the *next* step to be
executed (``state.market.step``), i.e. what the agents' next actions will meet.
"""

from __future__ import annotations

from collections import deque
from functools import cache

import jax
import numpy as np
from gymnasium import logger as gym_logger

from quantmarl.book import query
from quantmarl.events.schedule import EventKind

__all__ = ["History", "HumanViewer", "format_ladder", "market_panel", "render_ansi",
           "render_human", "render_rgb", "sparkline"]

LADDER_LEVELS = 8  # price levels per side shown in the ladder and the depth chart
NON_INTERACTIVE = {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"}
BARS = "▁▂▃▄▅▆▇█"  # sparkline glyphs, lowest to highest


# ----------------------------------------------------------------------------- text views


def format_ladder(bids: np.ndarray, asks: np.ndarray, depth: int = 8, width: int = 30) -> str:
    """Render ``(levels, 2)`` price/qty ladders (best first) as a two-sided text ladder.

    Asks are printed above bids, best prices in the middle, with a bar whose
    length is proportional to the level's quantity.
    """
    bids, asks = np.asarray(bids)[:depth], np.asarray(asks)[:depth]
    biggest = max([1, *bids[:, 1].tolist(), *asks[:, 1].tolist()])

    def line(label: str, price: int, qty: int) -> str:
        bar = "#" * max(1, round(width * qty / biggest))
        return f"  {label} {price:>12,d} {qty:>12,d}  {bar}"

    out = [f"  {'side':3} {'price (ticks)':>12} {'qty (lots)':>12}"]
    out += [line("ask", int(p), int(q)) for p, q in asks[::-1]]
    if len(bids) and len(asks):
        out.append(f"  {'':3} {'spread ' + str(int(asks[0, 0] - bids[0, 0])):>12}")
    else:
        out.append(f"  {'':3} {'(one side empty)':>25}")
    out += [line("bid", int(p), int(q)) for p, q in bids]
    return "\n".join(out)


def sparkline(values, width: int = 60) -> str:
    """A one-line chart of the last ``width`` values."""
    v = np.asarray(values, np.float64)[-width:]
    if v.size == 0:
        return ""
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return BARS[0] * v.size
    idx = np.round((v - lo) / (hi - lo) * (len(BARS) - 1)).astype(int)
    return "".join(BARS[i] for i in idx)


def market_panel(
    step: int, close, fundamental, volume, spread, depth, halted, extra: str = ""
) -> str:
    """A small dashboard for asset 0: price chart, last price, fundamental, spread, depth."""
    close = np.asarray(close)
    lines = [
        f"step {step:>6d}   price {int(close[-1]):>9,d} ticks   fundamental "
        f"{int(np.asarray(fundamental)[-1]):>9,d}   volume {int(np.asarray(volume)[-1]):>9,d}",
        f"spread {int(np.asarray(spread)[-1]):>4d}   depth bid/ask "
        f"{int(np.asarray(depth)[-1][0]):>8,d} / {int(np.asarray(depth)[-1][1]):<8,d}"
        f"   {'HALTED' if bool(np.asarray(halted)[-1]) else 'trading'}",
        f"price  {int(close.min()):>9,d} {sparkline(close)} {int(close.max()):,d}",
    ]
    if extra:
        lines.append(extra)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- env shells


class History:
    """Last ``maxlen`` closes and fundamentals (ticks) of asset 0, for the charts."""

    def __init__(self, maxlen: int = 120):
        self.close: deque[int] = deque(maxlen=maxlen)
        self.fundamental: deque[int] = deque(maxlen=maxlen)

    def append(self, close: int, fundamental: int) -> None:
        self.close.append(int(close))
        self.fundamental.append(int(fundamental))

    def clear(self) -> None:
        self.close.clear()
        self.fundamental.clear()

    def __len__(self) -> int:
        return len(self.close)


@cache
def _ladder_fn(k: int):
    return jax.jit(lambda book: query.ladder(book, k))


def _ladders(state, k: int = LADDER_LEVELS) -> tuple[np.ndarray, np.ndarray] | None:
    """(bids, asks) as ``(levels, 2)`` price/qty arrays, best first, for asset 0 (CDA only)."""
    books = state.market.books
    if books is None:
        return None
    book0 = jax.tree.map(lambda x: x[0], books)
    px, qty = (np.asarray(x) for x in _ladder_fn(k)(book0))
    bids, asks = (np.stack([px[r], qty[r]], 1)[qty[r] > 0] for r in (0, 1))
    return bids, asks


def _params(env, params):
    return env.default_params if params is None else params


def _table(state, env, params) -> list[tuple[str, int, int, int, float, str]]:
    """Per learner: (name, position in its asset, cash, PnL in minor units, wealth, status)."""
    m = jax.device_get(state.market)
    p = jax.device_get(params.market)
    n = env.num_agents
    price = np.asarray(m.last_price, np.int64)
    tick_value = int(p.tick_value)
    initial = int(p.initial_cash) + int(p.initial_position) * int(
        np.sum(np.asarray(p.initial_price, np.int64)) * tick_value)
    cash = np.asarray(m.ledger.cash, np.int64)[:n]
    pos = np.asarray(m.ledger.position, np.int64)[:n]
    value = cash + (pos * price[None, :]).sum(axis=1) * tick_value
    wealth = np.asarray(jax.device_get(state.wealth))
    alive = np.asarray(jax.device_get(state.alive))
    rows = []
    for i, name in enumerate(env.agents):
        asset = env.config.groups[env._group_of[i]].asset
        rows.append((name, int(pos[i, asset]), int(cash[i]), int(value[i]) - initial,
                     float(wealth[i]), "trading" if alive[i] else "done"))
    return rows


def _events(state, params) -> list[str]:
    """Descriptions of the scheduled and injected events active at the next step."""
    t = int(state.market.step)
    out = []
    for sched in (params.market.schedule, state.market.injected):
        s = jax.device_get(sched)
        kind, start = np.asarray(s.kind), np.asarray(s.start, np.int64)
        end = start + np.asarray(s.duration, np.int64)
        active = (kind != EventKind.NONE) & (start <= t) & (t < end)
        for j in np.flatnonzero(active):
            asset = int(s.asset[j])
            where = "all assets" if asset < 0 else f"asset {asset}"
            out.append(f"{EventKind(int(kind[j])).name.lower()} x{float(s.magnitude[j]):g} "
                       f"({where}, steps {int(start[j])}..{int(end[j]) - 1})")
    return out


def _halted(state) -> np.ndarray:
    """bool [A]: assets halted at the next step."""
    return int(state.market.step) < np.asarray(state.market.breaker.halted_until)


def render_ansi(state, history: History, env, params=None) -> str:
    """A text frame: header, price/fundamental sparklines, book ladder (CDA, asset 0),
    learners' positions and PnL, active events and halts.

    ``state`` is an ``EnvState``, ``env`` the functional ``MarketEnv`` and
    ``params`` its ``EnvParams`` (defaults when ``None``).
    """
    params = _params(env, params)
    cfg = env.config.market
    m = state.market
    step, last = int(m.step), np.asarray(m.last_price)
    fundamental = np.exp(np.asarray(m.log_fundamental, np.float64)).astype(np.int64)
    bid, ask = int(np.asarray(m.best_bid)[0]), int(np.asarray(m.best_ask)[0])
    lines = [
        f"quantmarl market   step {step}/{cfg.episode_length}   {cfg.clearing} clearing, "
        f"{cfg.n_assets} asset(s), {cfg.n_reactive} reactive agents, {env.num_agents} learner(s)",
        f"asset 0: price {int(last[0]):,} ticks   fundamental {int(fundamental[0]):,}   "
        f"best bid/ask {bid:,} / {ask:,}",
    ]
    closes = list(history.close) or [int(last[0])]
    funds = list(history.fundamental) or [int(fundamental[0])]
    lines.append(f"price  {min(closes):>9,d} {sparkline(closes)} {max(closes):,d}")
    lines.append(f"fund   {min(funds):>9,d} {sparkline(funds)} {max(funds):,d}")
    ladders = _ladders(state)
    if ladders is not None:
        lines.append("")
        lines.append(format_ladder(*ladders, depth=LADDER_LEVELS))
    else:
        lines.append("(batch auction: no resting book between steps)")
    lines.append("")
    lines.append(f"{'agent':<20} {'position':>10} {'cash':>14} {'PnL':>12} {'wealth':>8}  status")
    for name, pos, cash, pnl, wealth, status in _table(state, env, params):
        lines.append(f"{name:<20} {pos:>10,d} {cash:>14,d} {pnl:>+12,d} {wealth:>8.4f}  {status}")
    lines.append("")
    events = _events(state, params)
    lines.append("events: " + ("; ".join(events) if events else "none"))
    halted = np.flatnonzero(_halted(state))
    lines.append("halted: " + (", ".join(f"asset {int(a)}" for a in halted) if len(halted)
                               else "none"))
    return "\n".join(lines)


def render_rgb(state, history: History, env, params=None, size: tuple[int, int] = (640, 480)
               ) -> np.ndarray:
    """An RGB frame, uint8 ``(H, W, 3)``: price and fundamental, book depth (CDA, asset 0),
    learners' positions. Drawn with matplotlib's Agg canvas (no pyplot, no window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    params = _params(env, params)
    dpi = 80
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax_price = fig.add_subplot(2, 1, 1)
    ax_depth = fig.add_subplot(2, 2, 3)
    ax_pos = fig.add_subplot(2, 2, 4)

    m = state.market
    closes = list(history.close) or [int(np.asarray(m.last_price)[0])]
    funds = list(history.fundamental) or [
        int(np.exp(float(np.asarray(m.log_fundamental)[0])))]
    x = np.arange(len(closes))
    ax_price.plot(x, closes, color="tab:blue", lw=1.2, label="price")
    ax_price.plot(x[-len(funds):], funds, color="tab:orange", lw=1.0, ls="--",
                  label="fundamental")
    halted = bool(_halted(state)[0])
    events = _events(state, params)
    title = f"step {int(m.step)}" + ("  HALTED" if halted else "") + (
        f"  events: {len(events)}" if events else "")
    ax_price.set_title(title, fontsize=9)
    ax_price.set_ylabel("ticks", fontsize=8)
    ax_price.legend(loc="upper left", fontsize=7)
    ax_price.tick_params(labelsize=7)

    ladders = _ladders(state)
    if ladders is not None:
        bids, asks = ladders
        if len(bids):
            ax_depth.barh(bids[:, 0], bids[:, 1], color="tab:green", height=0.8, label="bids")
        if len(asks):
            ax_depth.barh(asks[:, 0], asks[:, 1], color="tab:red", height=0.8, label="asks")
        ax_depth.set_title("book depth (asset 0)", fontsize=9)
        ax_depth.set_xlabel("lots", fontsize=8)
    else:
        ax_depth.text(0.5, 0.5, "batch auction:\nno resting book", ha="center", va="center",
                      transform=ax_depth.transAxes, fontsize=8)
        ax_depth.set_title("book depth", fontsize=9)
    ax_depth.tick_params(labelsize=7)

    rows = _table(state, env, params)
    names = [r[0] for r in rows]
    pos = [r[1] for r in rows]
    ax_pos.bar(range(len(rows)), pos, color=["tab:blue" if p >= 0 else "tab:red" for p in pos])
    ax_pos.set_xticks(range(len(rows)), names, rotation=30, fontsize=6)
    ax_pos.axhline(0, color="black", lw=0.5)
    ax_pos.set_title("learner positions (lots)", fontsize=9)
    ax_pos.tick_params(labelsize=7)

    fig.tight_layout()
    canvas.draw()
    return np.array(canvas.buffer_rgba())[..., :3]


class HumanViewer:
    """Shows frames in a matplotlib window (``plt.pause``, never a blocking ``show``);
    prints the text frame where the backend is not interactive (e.g. headless Agg)."""

    def __init__(self):
        self._fig = None
        self._image = None

    @staticmethod
    def interactive() -> bool:
        import matplotlib

        return matplotlib.get_backend().lower() not in NON_INTERACTIVE

    def show(self, state, history: History, env, params=None) -> None:
        if not self.interactive():
            print(render_ansi(state, history, env, params), flush=True)
            return
        import matplotlib.pyplot as plt

        frame = render_rgb(state, history, env, params)
        if self._fig is None or not plt.fignum_exists(self._fig.number):
            self._fig = plt.figure("quantmarl")
            ax = self._fig.add_axes((0, 0, 1, 1))
            ax.axis("off")
            self._image = ax.imshow(frame)
        else:
            self._image.set_data(frame)
        plt.pause(0.001)

    def close(self) -> None:
        if self._fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self._fig)
            self._fig = self._image = None


def render_human(state, history: History, env, params=None, viewer: HumanViewer | None = None
                 ) -> HumanViewer:
    """Show one frame; returns the viewer to reuse for the next frame."""
    viewer = viewer if viewer is not None else HumanViewer()
    viewer.show(state, history, env, params)
    return viewer


RENDER_MODES = ["ansi", "rgb_array", "human"]


class ShellRendering:
    """``render()`` and ``close()`` shared by the PettingZoo and Gymnasium shells.

    The shell provides ``render_mode``, ``state_`` (None before ``reset``),
    ``history`` (:class:`History`), ``env``, ``params`` and ``_viewer``.
    """

    def render(self):
        if self.render_mode is None:
            gym_logger.warn("render() called without a render_mode; pass render_mode= to the "
                            f"constructor, one of {RENDER_MODES}")
            return None
        if self.state_ is None:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "ansi":
            return render_ansi(self.state_, self.history, self.env, self.params)
        if self.render_mode == "rgb_array":
            return render_rgb(self.state_, self.history, self.env, self.params)
        if self._viewer is None:
            self._viewer = HumanViewer()
        self._viewer.show(self.state_, self.history, self.env, self.params)
        return None

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
