// Market view: a live chart (candles and volume, halts shaded), the book ladder, spread,
// depth and imbalance, and controls (create, step, run/pause, reset, events, breaker).
// Everything goes through the public API (QM.api); new steps arrive on the
// server-sent event stream of the simulation.
"use strict";
const $ = (id) => document.getElementById(id);
const view = {sim: null, episode: null, bars: [], halts: [], source: null, timer: null,
              refresh: null};

function act(fn) {  // run an action, report its error in the status line
  return async (...args) => {
    try { await fn(...args); } catch (err) {
      QM.status(`${err.field ? err.field + ": " : ""}${err.message}`, true);
      stopRunning();
    }
  };
}

async function loadSims(select) {
  const sims = await QM.api("GET", "/simulations");
  const box = $("sim-select");
  box.innerHTML = "";
  for (const s of sims) {
    const o = document.createElement("option");
    o.value = s.id;
    o.textContent = `${s.id} (${s.clearing}, step ${s.step})`;
    box.appendChild(o);
  }
  $("create-box").open = sims.length === 0;
  const chosen = select || (sims.length ? sims[sims.length - 1].id : null);
  if (chosen) { box.value = chosen; await selectSim(chosen); }
}

async function selectSim(id) {
  if (view.source) view.source.close();
  view.sim = id;
  const state = await QM.api("GET", `/simulations/${id}?window=500&depth=8`);
  view.episode = state.episode;
  view.bars = state.assets[0].bars;
  view.halts = [];
  showState(state);
  draw();
  listen(state.step);
  QM.status(`simulation ${id}`);
}

function listen(after) {  // live steps from the stream (polling when a token is needed)
  if (QM.token) return;
  view.source = new EventSource(`/simulations/${view.sim}/stream?after=${after}`);
  view.source.addEventListener("step", (e) => {
    const rec = JSON.parse(e.data);
    if (rec.episode !== view.episode) { view.episode = rec.episode; view.bars = []; view.halts = []; }
    const a = rec.assets[0];
    view.bars.push({step: rec.step, open: a.open, high: a.high, low: a.low, close: a.close,
                    volume: a.volume});
    if (a.halted) view.halts.push(rec.step);
    scheduleRefresh();
  });
}

function scheduleRefresh() {  // redraw and reread the state at most every 250 ms
  if (view.refresh) return;
  view.refresh = setTimeout(act(async () => {
    view.refresh = null;
    draw();
    showState(await QM.api("GET", `/simulations/${view.sim}?window=1&depth=8`));
  }), 250);
}

function draw() {
  const b = view.bars, x = b.map((r) => r.step);
  const candles = {type: "candlestick", x, open: b.map((r) => r.open),
                   high: b.map((r) => r.high), low: b.map((r) => r.low),
                   close: b.map((r) => r.close), name: "price (ticks)", yaxis: "y"};
  const volume = {type: "bar", x, y: b.map((r) => r.volume), name: "volume (lots)",
                  yaxis: "y2", marker: {color: "#9aa5b1"}};
  const shapes = view.halts.map((s) => ({type: "rect", xref: "x", yref: "paper",
    x0: s - 0.5, x1: s + 0.5, y0: 0, y1: 1, fillcolor: "#e8590c", opacity: 0.25,
    line: {width: 0}}));
  Plotly.react("chart", [candles, volume], {
    margin: {t: 10, r: 50, l: 60, b: 30}, showlegend: false, shapes,
    xaxis: {title: "step", rangeslider: {visible: false}},
    yaxis: {domain: [0.28, 1], title: "price (ticks)"},
    yaxis2: {domain: [0, 0.22], title: "volume"}}, {displayModeBar: false, responsive: true});
  const list = $("halt-list");
  list.innerHTML = "";
  for (const s of view.halts) {
    const li = document.createElement("li");
    li.textContent = `halted at step ${s}`;
    li.className = "halt";
    list.appendChild(li);
  }
}

function showState(state) {
  const a = state.assets[0];
  const option = $("sim-select").selectedOptions[0];
  if (option) option.textContent = `${state.id} (${state.clearing}, step ${state.step})`;
  $("step-now").textContent = `${state.step} / ${state.step + state.steps_left}`;
  $("spread").textContent = a.spread ?? "-";
  $("depth").textContent = a.depth ? `${a.depth[0]} / ${a.depth[1]}` : "-";
  $("imbalance").textContent = a.imbalance === null || a.imbalance === undefined
    ? "-" : a.imbalance.toFixed(2);
  if (a.halted && !view.halts.includes(state.step)) { view.halts.push(state.step); draw(); }
  const events = $("event-list");
  events.innerHTML = "";
  for (const e of state.events) {
    const li = document.createElement("li");
    li.textContent = `${e.kind} ${e.magnitude} from step ${e.start} for ${e.duration}`;
    events.appendChild(li);
  }
  const body = document.querySelector("#ladder tbody");
  body.innerHTML = "";
  const ladder = a.ladder || {bids: [], asks: []};
  for (const [p, q] of [...ladder.asks].reverse()) body.appendChild(row("", p, q, "ask"));
  for (const [p, q] of ladder.bids) body.appendChild(row(q, p, "", "bid"));
}

function row(bid, price, ask, side) {
  const tr = document.createElement("tr");
  tr.className = side;
  for (const [v, cls] of [[bid, "bid"], [price, side], [ask, "ask"]]) {
    const td = document.createElement("td");
    td.textContent = v;
    td.className = cls;
    tr.appendChild(td);
  }
  return tr;
}

async function step(n) {
  const out = await QM.api("POST", `/simulations/${view.sim}/step`, {steps: n});
  if (QM.token) await selectSim(view.sim);  // no stream: reread
  return out;
}

function stopRunning() {
  clearInterval(view.timer);
  view.timer = null;
  $("run").textContent = "Run";
  $("run").setAttribute("aria-pressed", "false");
}

$("create").addEventListener("click", act(async () => {
  const body = {preset: $("preset").value, seed: Number($("seed").value)};
  const text = $("config-yaml").value.trim();
  if (text) body.config_yaml = text;
  const sim = await QM.api("POST", "/simulations", body);
  await loadSims(sim.id);
}));
$("sim-select").addEventListener("change", act(async (e) => selectSim(e.target.value)));
$("step").addEventListener("click", act(async () => step(Number($("steps").value))));
$("reset").addEventListener("click", act(async () => {
  stopRunning();
  await QM.api("POST", `/simulations/${view.sim}/reset`);
  await selectSim(view.sim);
}));
$("run").addEventListener("click", () => {
  if (view.timer) return stopRunning();
  const perTick = Math.max(1, Math.round(Number($("speed").value) / 5));
  view.timer = setInterval(act(async () => step(perTick)), 200);
  $("run").textContent = "Pause";
  $("run").setAttribute("aria-pressed", "true");
});
$("inject").addEventListener("click", act(async () => {
  const e = await QM.api("POST", `/simulations/${view.sim}/events`, {
    kind: $("event-kind").value, magnitude: Number($("event-magnitude").value),
    duration: Number($("event-duration").value)});
  QM.status(`${e.kind} from step ${e.start}`);
}));
$("breaker").addEventListener("click", act(async () => {
  await QM.api("PUT", `/simulations/${view.sim}/breaker`, {
    enabled: $("breaker-on").checked, threshold: Number($("breaker-threshold").value),
    halt_steps: Number($("breaker-halt").value)});
  QM.status("breaker set");
}));
act(loadSims)();
