// Agents: every account (tier, behaviour, controller, exact cash and position, PnL),
// the smart tier's performance and PnL curves; add or remove smart-tier agents.
"use strict";
const $ = (id) => document.getElementById(id);
let sim = null;

function act(fn) {
  return async (...args) => {
    try { await fn(...args); } catch (err) {
      QM.status(`${err.field ? err.field + ": " : ""}${err.message}`, true);
    }
  };
}

async function loadSims() {
  const sims = await QM.api("GET", "/simulations");
  const box = $("sim-select");
  box.innerHTML = "";
  for (const s of sims) {
    const o = document.createElement("option");
    o.value = s.id;
    o.textContent = `${s.id} (step ${s.step})`;
    box.appendChild(o);
  }
  const wanted = new URLSearchParams(location.search).get("sim");
  sim = wanted || (sims.length ? sims[sims.length - 1].id : null);
  if (sim) { box.value = sim; await show(); } else QM.status("no simulation: create one");
}

function cell(tr, text) {
  const td = document.createElement("td");
  td.textContent = text;
  tr.appendChild(td);
  return td;
}

const pct = (x) => (x === null || x === undefined ? "-" : `${(100 * x).toFixed(3)}%`);
const num = (x, d = 2) => (x === null || x === undefined ? "-" : x.toFixed(d));

async function show() {
  const tier = $("tier").value;
  const query = `limit=10000${tier ? "&tier=" + tier : ""}`;
  const [rows, perf] = await Promise.all([
    QM.api("GET", `/simulations/${sim}/agents?${query}`),
    QM.api("GET", `/simulations/${sim}/performance`)]);
  const body = document.querySelector("#accounts tbody");
  body.innerHTML = "";
  const slots = $("slot");
  slots.innerHTML = "";
  for (const a of rows.accounts) {
    const tr = document.createElement("tr");
    tr.dataset.account = a.account;
    const p = perf.agents[a.name] || {};
    for (const v of [a.account, a.name, a.tier, a.behaviour, a.controller || "-",
                     a.cash.toLocaleString(), a.position.join(", "), a.pnl.toLocaleString(),
                     pct(p.pnl), num(p.sharpe), pct(p.max_drawdown), p.trades ?? "-"]) {
      cell(tr, v);
    }
    const last = cell(tr, "");
    if (a.tier === "smart") {
      const o = document.createElement("option");
      o.value = o.textContent = a.name;
      slots.appendChild(o);
      if (a.controller !== "hold") {
        const b = document.createElement("button");
        b.textContent = "Remove";
        b.setAttribute("aria-label", `remove ${a.name}`);
        b.addEventListener("click", act(async () => {
          const out = await QM.api("DELETE", `/simulations/${sim}/agents/${a.name}`);
          QM.status(`${a.name} removed (${out.cancelled_lots.join(", ")} lots cancelled)`);
          await show();
        }));
        last.appendChild(b);
      }
    }
    body.appendChild(tr);
  }
  const traces = Object.entries(perf.agents).map(([name, p]) => ({
    type: "scatter", mode: "lines", name, x: perf.step, y: p.pnl_path.map((v) => 100 * v)}));
  Plotly.react("curves", traces, {margin: {t: 10, r: 10, l: 60, b: 40},
    xaxis: {title: "step"}, yaxis: {title: "PnL (% of value)"}},
    {displayModeBar: false, responsive: true});
}

$("sim-select").addEventListener("change", act(async (e) => { sim = e.target.value; await show(); }));
$("tier").addEventListener("change", act(show));
$("refresh").addEventListener("click", act(show));
$("add").addEventListener("click", act(async () => {
  const body = {agent: $("slot").value, controller: $("controller").value};
  if (body.controller === "checkpoint") body.checkpoint = $("checkpoint").value;
  const out = await QM.api("POST", `/simulations/${sim}/agents`, body);
  QM.status(`${out.agent} is ${out.controller}`);
  await show();
}));
act(loadSims)();
