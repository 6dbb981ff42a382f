// Experiments and training: start a job (a training run or an experiment), follow its
// progress and live learning curves, read its report and figures; past jobs come from
// the run store.
"use strict";
const $ = (id) => document.getElementById(id);
let shown = null, timer = null;

function act(fn) {
  return async (...args) => {
    try { await fn(...args); } catch (err) {
      QM.status(`${err.field ? err.field + ": " : ""}${err.message}`, true);
    }
  };
}

async function listJobs() {
  const jobs = await QM.api("GET", "/jobs");
  const body = document.querySelector("#jobs tbody");
  body.innerHTML = "";
  for (const j of [...jobs].reverse()) {
    const tr = document.createElement("tr");
    tr.dataset.job = j.id;
    const progress = j.status === "running" ? (j.progress || "").slice(0, 100) : "";
    for (const v of [j.id, j.kind, j.status, progress]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const open = document.createElement("button");
    open.textContent = "Open";
    open.setAttribute("aria-label", `open job ${j.id}`);
    open.addEventListener("click", act(async () => showJob(j.id)));
    td.appendChild(open);
    if (j.status === "running") {
      const stop = document.createElement("button");
      stop.textContent = "Cancel";
      stop.setAttribute("aria-label", `cancel job ${j.id}`);
      stop.addEventListener("click", act(async () => {
        await QM.api("POST", `/jobs/${j.id}/cancel`);
        await listJobs();
      }));
      td.appendChild(stop);
    }
    tr.appendChild(td);
    body.appendChild(tr);
  }
  return jobs;
}

async function curves(id) {  // a training job's metrics.json, one line per group and seed
  const files = await QM.api("GET", `/jobs/${id}/files`);
  if (!files.includes("metrics.json")) return;
  // metrics.json writes missing values as NaN, which JSON.parse refuses
  const text = await QM.text(`/jobs/${id}/files/metrics.json`);
  const metrics = JSON.parse(text.replace(/\bNaN\b/g, "null"));
  const traces = [];
  for (const [group, m] of Object.entries(metrics)) {
    (m.episode_return || []).forEach((seed, s) => traces.push({
      type: "scatter", mode: "lines+markers", connectgaps: true, name: `${group} seed ${s}`,
      x: seed.map((_, i) => i + 1), y: seed}));
  }
  Plotly.react("curves", traces, {margin: {t: 10, r: 10, l: 60, b: 40},
    xaxis: {title: "update"}, yaxis: {title: "mean episode return"}},
    {displayModeBar: false, responsive: true});
}

async function showJob(id) {
  shown = id;
  $("job-id").textContent = id;
  $("report").innerHTML = "";
  $("figures").innerHTML = "";
  const job = await QM.api("GET", `/jobs/${id}`);
  await curves(id);
  if (job.status === "running") {
    QM.status(`job ${id}: ${job.progress || "running"}`);
    return;
  }
  QM.status(`job ${id}: ${job.status}`);
  const files = await QM.api("GET", `/jobs/${id}/files`);
  if (files.includes("report.md")) {
    const text = await QM.text(`/jobs/${id}/files/report.md`);
    const pre = document.createElement("pre");
    pre.textContent = text;
    $("report").appendChild(pre);
  }
  for (const f of files.filter((f) => f.endsWith(".png"))) {
    const img = document.createElement("img");
    img.src = `/jobs/${id}/files/${f}`;
    img.alt = f;
    img.width = 480;
    $("figures").appendChild(img);
  }
}

async function poll() {
  const jobs = await listJobs();
  const current = jobs.find((j) => j.id === shown);
  if (current) await showJob(shown);
  if (!jobs.some((j) => j.status === "running")) { clearInterval(timer); timer = null; }
}

$("start").addEventListener("click", act(async () => {
  const body = {kind: $("kind").value, quick: $("quick").checked};
  if ($("job-preset").value) body.preset = $("job-preset").value;
  if ($("job-seeds").value) body.seeds = Number($("job-seeds").value);
  const text = $("job-config").value.trim();
  if (text) body.config_yaml = text;
  const job = await QM.api("POST", "/jobs", body);
  await showJob(job.id);
  await listJobs();
  if (!timer) timer = setInterval(act(poll), 1000);
}));
act(async () => {
  const jobs = await listJobs();
  if (jobs.some((j) => j.status === "running")) timer = setInterval(act(poll), 1000);
})();
