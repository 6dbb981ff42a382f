// The service's public API from the browser: JSON in and out; errors carry the
// service's message and the field it names. A token (if the server has one) is read
// once from the page address (#token=...) and sent as a bearer token.
"use strict";
const QM = (() => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) sessionStorage.setItem("qm-token", fromHash);
  const token = sessionStorage.getItem("qm-token");
  async function api(method, path, body) {
    const headers = {"Content-Type": "application/json"};
    if (token) headers.Authorization = `Bearer ${token}`;
    const r = await fetch(path, {method, headers,
                                 body: body === undefined ? undefined : JSON.stringify(body)});
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({error: r.statusText}));
    if (!r.ok) {
      const err = new Error(data.error || r.statusText);
      err.field = data.field;
      err.status = r.status;
      throw err;
    }
    return data;
  }
  async function text(path) {  // a file's text (e.g. a job's report.md)
    const r = await fetch(path, {headers: token ? {Authorization: `Bearer ${token}`} : {}});
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.text();
  }
  function status(text, isError = false) {
    const el = document.getElementById("status");
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
  return {api, text, status, token};
})();
