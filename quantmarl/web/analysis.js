// Analysis: the market's stylized facts beside the S&P 500's, the return density and
// ACFs of both, and market quality (spread, depth, volatility, halts, LSV herding) over
// a chosen window of recent steps.
"use strict";
const $ = (id) => document.getElementById(id);
let sim = null;
const fmt = (x, d = 4) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));

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
  if (sim) { box.value = sim; await analyse(); } else QM.status("no simulation: create one");
}

function fill(table, rows) {
  const body = document.querySelector(`#${table} tbody`);
  body.innerHTML = "";
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const v of r) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

async function analyse() {
  const w = $("window").value ? `?window=${$("window").value}` : "";
  const quality = await QM.api("GET", `/simulations/${sim}/analysis${w}`);
  const a = quality.assets[0];
  fill("quality", [["steps", quality.steps], ["mean spread (ticks)", fmt(a.mean_spread, 2)],
                   ["mean depth (lots)", fmt(a.mean_depth, 1)],
                   ["volatility (per step)", fmt(a.volatility)],
                   ["halted share", fmt(a.halted_share, 3)],
                   ["LSV herding (reactive)", fmt(a.herding_lsv)]]);
  let facts;
  try {
    facts = await QM.api("GET", `/simulations/${sim}/facts${w}`);
  } catch (err) {
    $("facts-note").textContent = err.message;
    QM.status(`market quality over ${quality.steps} steps; ${err.message}`);
    return;
  }
  fill("facts", facts.moments.map((m) => [m.name, m.meaning, fmt(m.simulated),
                                          fmt(m.real)]));
  $("facts-note").textContent = `${facts.simulated.returns} simulated returns (step horizon) ` +
    `against ${facts.sp500.returns} daily returns of the ${facts.real}.`;
  const mid = facts.bins.slice(0, -1).map((b, i) => (b + facts.bins[i + 1]) / 2);
  Plotly.react("density", [
    {type: "scatter", mode: "lines", name: "simulated", x: mid, y: facts.simulated.density},
    {type: "scatter", mode: "lines", name: "S&P 500", x: mid, y: facts.sp500.density},
    {type: "scatter", mode: "lines", name: "normal", line: {dash: "dot"}, x: mid,
     y: mid.map((z) => Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI))}],
    {margin: {t: 10, r: 10, l: 60, b: 40}, xaxis: {title: "standardised return"},
     yaxis: {title: "density", type: "log"}}, {displayModeBar: false, responsive: true});
  const lags = facts.simulated.acf.map((_, i) => i + 1);
  Plotly.react("acf", [
    {type: "bar", name: "simulated r", x: lags, y: facts.simulated.acf},
    {type: "bar", name: "S&P 500 r", x: lags, y: facts.sp500.acf},
    {type: "scatter", mode: "lines+markers", name: "simulated |r|", x: lags,
     y: facts.simulated.acf_abs},
    {type: "scatter", mode: "lines+markers", name: "S&P 500 |r|", x: lags, y: facts.sp500.acf_abs}],
    {margin: {t: 10, r: 10, l: 60, b: 40}, xaxis: {title: "lag"}, yaxis: {title: "ACF"},
     barmode: "group"}, {displayModeBar: false, responsive: true});
  QM.status(`analysis over ${quality.steps} steps`);
}

$("sim-select").addEventListener("change", act(async (e) => { sim = e.target.value; await analyse(); }));
$("analyse").addEventListener("click", act(analyse));
act(loadSims)();
