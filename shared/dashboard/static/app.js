// Herald's dashboard. It signs its own requests (NH SAS: HMAC-SHA256 in WebCrypto) with the
// connection string the user pasted, kept in this tab's sessionStorage, and calls the hub's
// routes on this origin: /metrics, /messages (recent notifications and their telemetry) and
// /installations/{id}/trace. Everything it shows is put in the page as text, never as markup.
"use strict";

(() => {
  const STORE = "herald.dashboard";
  const API_VERSION = "2020-06";
  const RANGES = {
    PT1H: { span: 3600e3, interval: "PT1M", step: 60e3 },
    P1D: { span: 86400e3, interval: "PT1H", step: 3600e3 },
    P30D: { span: 30 * 86400e3, interval: "P1D", step: 86400e3 },
  };
  const REASONS = {
    noMatchingTag: "its tags do not match the send's tag expression",
    platformMismatch: "the send was in another platform's format",
    noMatchingTemplate: "a template send, and it has no template",
    channelExpired: "its push channel had expired (the push service called it dead)",
    installationExpired: "it had expired (its expirationTime had passed)",
    notAddressed: "a direct send to other handles",
    droppedAfterTtl: "dropped: the send's time to live ran out before it was delivered",
    abandoned: "abandoned: the step delivering it failed every attempt",
    cancelled: "the scheduled send was cancelled",
    failed: "its push service refused it",
  };
  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(status, detail) {
      super(`${status}: ${detail}`);
      this.status = status;
    }
  }

  // ---- session and signing --------------------------------------------------------------

  function parseConnectionString(text) {
    const fields = {};
    for (const part of text.trim().split(";")) {
      const at = part.indexOf("=");
      if (at > 0) fields[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
    }
    if (!fields.endpoint || !fields.sharedaccesskeyname || !fields.sharedaccesskey) {
      throw new Error(
        "A connection string names Endpoint, SharedAccessKeyName and SharedAccessKey.");
    }
    return {
      endpoint: fields.endpoint.replace(/^sb:\/\//i, "https://").replace(/\/?$/, "/"),
      keyName: fields.sharedaccesskeyname,
      key: fields.sharedaccesskey,
      hub: fields.entitypath || "",
    };
  }

  let session = null;
  let signed = { token: "", until: 0 };

  async function authorization() {
    const now = Math.floor(Date.now() / 1000);
    if (signed.until - now > 300) return signed.token;
    const expiry = now + 3600;
    const sr = encodeURIComponent((session.endpoint + session.hub).toLowerCase());
    const encoder = new TextEncoder();
    const key = await crypto.subtle.importKey(
      "raw", encoder.encode(session.key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${sr}\n${expiry}`));
    const sig = btoa(String.fromCharCode(...new Uint8Array(mac)));
    const token = `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}` +
      `&se=${expiry}&skn=${encodeURIComponent(session.keyName)}`;
    signed = { token, until: expiry };
    return token;
  }

  function errorDetail(text) {
    const xml = new DOMParser().parseFromString(text, "application/xml");
    const detail = xml.getElementsByTagName("Detail")[0];
    return detail ? detail.textContent : text.slice(0, 200);
  }

  async function api(path, query = {}) {
    const params = new URLSearchParams({ ...query, "api-version": API_VERSION });
    const url = `${location.origin}/${encodeURIComponent(session.hub)}/${path}?${params}`;
    const response = await fetch(url, {
      headers: { Authorization: await authorization(), Accept: "application/json" },
    });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, errorDetail(text));
    return JSON.parse(text);
  }

  // ---- small DOM helpers ----------------------------------------------------------------

  function row(cells, attributes = {}) {
    const tr = document.createElement("tr");
    for (const [key, value] of Object.entries(attributes)) tr.setAttribute(key, value);
    for (const value of cells) {
      const td = document.createElement("td");
      if (typeof value === "number") td.className = "number";
      td.textContent = value === null || value === undefined ? "" : String(value);
      tr.appendChild(td);
    }
    return tr;
  }

  function notice(id, text) {
    const node = $(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const audience = (n) => n.tags || (n.direct ? "direct" : "everyone");
  const sumCounts = (list) => list.reduce((sum, item) => sum + item.count, 0);

  function outcomeCounts(details) {
    const counts = {};
    for (const [key, value] of Object.entries(details)) {
      if (key.endsWith("OutcomeCounts")) counts[key.replace(/OutcomeCounts$/, "")] = value;
    }
    return counts;
  }

  function delivered(details) {
    return Object.values(outcomeCounts(details))
      .flat().filter((c) => c.state === "Success").reduce((sum, c) => sum + c.count, 0);
  }

  // ---- metrics ----------------------------------------------------------------------------

  function totals(buckets, field, key) {
    const found = {};
    for (const bucket of buckets) {
      for (const item of bucket[field] || []) {
        found[item[key]] = (found[item[key]] || 0) + item.count;
      }
    }
    return Object.entries(found).map(([label, value]) => ({ label, value }));
  }

  function timeline(answer, step, field, key) {
    const from = Math.floor(Date.parse(answer.from) / step) * step;
    const to = Date.parse(answer.to);
    const byStart = new Map(answer.buckets.map((b) => [Date.parse(b.start), b]));
    const slots = [];
    const names = new Set();
    for (let start = from; start < to; start += step) {
      const values = {};
      for (const item of (byStart.get(start) || {})[field] || []) {
        values[item[key]] = (values[item[key]] || 0) + item.count;
        names.add(item[key]);
      }
      const label = new Date(start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      slots.push({ label: step >= 86400e3 ? new Date(start).toLocaleDateString() : label, values });
    }
    return { slots, series: [...names].sort() };
  }

  function platformTable(buckets) {
    const table = $("table-platforms");
    table.replaceChildren();
    const cells = {};
    const outcomes = new Set();
    for (const bucket of buckets) {
      for (const d of bucket.deliveries || []) {
        cells[d.platform] = cells[d.platform] || {};
        cells[d.platform][d.outcome] = (cells[d.platform][d.outcome] || 0) + d.count;
        outcomes.add(d.outcome);
      }
    }
    const columns = [...outcomes].sort();
    if (!columns.length) return HeraldCharts.empty(table, "No deliveries in this range.");
    const head = document.createElement("tr");
    for (const name of ["platform", ...columns]) {
      const th = document.createElement("th");
      th.textContent = name;
      head.appendChild(th);
    }
    table.appendChild(head);
    for (const platform of Object.keys(cells).sort()) {
      table.appendChild(row([platform, ...columns.map((o) => cells[platform][o] || 0)]));
    }
  }

  async function loadMetrics() {
    const range = RANGES[$("range").value];
    const to = new Date();
    const from = new Date(to.getTime() - range.span);
    let answer;
    try {
      answer = await api("metrics", {
        from: from.toISOString().replace(/\.\d+Z$/, "Z"),
        to: to.toISOString().replace(/\.\d+Z$/, "Z"),
        interval: range.interval,
      });
    } catch (error) {
      $("charts").hidden = true;
      if (error.status === 404) {
        notice("metrics-message", "Charts are unavailable: this Herald has no hub metrics " +
          "(GET /{hub}/metrics answered 404). Recent notifications and traces below work.");
      } else {
        notice("metrics-message", `The hub's metrics could not be read: ${error.message}`);
      }
      return;
    }
    notice("metrics-message", "");
    $("charts").hidden = false;
    const buckets = answer.buckets || [];
    const sends = timeline(answer, range.step, "notifications", "kind");
    HeraldCharts.stackedBars($("chart-sends"), sends.slots, sends.series);
    const deliveries = timeline(answer, range.step, "deliveries", "outcome");
    HeraldCharts.stackedBars($("chart-deliveries"), deliveries.slots, deliveries.series);
    platformTable(buckets);
    HeraldCharts.bars($("chart-failures"),
      totals(buckets, "deliveries", "outcome").filter((item) => item.label !== "delivered"));
    HeraldCharts.bars($("chart-pruned"), totals(buckets, "pruned", "platform"));
    HeraldCharts.bars($("chart-registry"),
      (answer.registrySize || []).map((item) => ({ label: item.platform, value: item.count })));
    HeraldCharts.bars($("chart-opens"), totals(buckets, "opens", "kind"));
    HeraldCharts.bars($("chart-errors"),
      totals(buckets, "apiErrors", "status").map((item) => ({ ...item, label: `${item.label}` })));
  }

  // ---- recent notifications and their details ------------------------------------------

  let recentToken = null;

  async function loadRecent(more) {
    const query = { top: "20" };
    if (more && recentToken) query.continuationToken = recentToken;
    const body = $("notifications").tBodies[0];
    if (!more) body.replaceChildren();
    let answer;
    try {
      answer = await api("messages", query);
    } catch (error) {
      notice("recent-message", `Recent notifications could not be read: ${error.message}`);
      return;
    }
    notice("recent-message", answer.notifications.length || more ? "" : "No notifications yet.");
    for (const n of answer.notifications) {
      const tr = row([
        when(n.enqueueTime), n.notificationId.slice(-12), n.format, audience(n), n.state,
        delivered(n), n.failureCount, (n.events || {}).opened || 0,
      ], { "data-notification-id": n.notificationId, tabindex: "0" });
      tr.addEventListener("click", () => showDetails(n.notificationId));
      tr.addEventListener("keydown", (e) => e.key === "Enter" && showDetails(n.notificationId));
      body.appendChild(tr);
    }
    recentToken = answer.continuationToken;
    $("more-notifications").hidden = !recentToken;
  }

  let failuresToken = null;
  let shownId = null;

  function summary(details) {
    const list = $("details-summary");
    list.replaceChildren();
    const events = Object.entries(details.events || {}).map(([k, v]) => `${k} ${v}`);
    const entries = [
      ["State", details.state], ["Enqueued", when(details.enqueueTime)],
      ["Started", when(details.startTime)], ["Ended", when(details.endTime)],
      ["Tags", details.tags || "—"], ["Platforms", details.targetPlatforms],
      ["Events", events.join(", ") || "none reported"], ["Body", details.notificationBody],
    ];
    for (const [term, value] of entries) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value || "";
      list.append(dt, dd);
    }
  }

  function countsTable(details) {
    const table = $("details-counts");
    table.replaceChildren();
    const counts = outcomeCounts(details);
    if (!Object.keys(counts).length) return HeraldCharts.empty(table, "No deliveries yet.");
    for (const [platform, list] of Object.entries(counts)) {
      for (const item of list) table.appendChild(row([platform, item.state, item.count]));
    }
  }

  async function showDetails(notificationId, more) {
    const query = {};
    if (more && failuresToken) query.failuresToken = failuresToken;
    let details;
    try {
      details = await api(`messages/${encodeURIComponent(notificationId)}`, query);
    } catch (error) {
      notice("recent-message", `That notification could not be read: ${error.message}`);
      return;
    }
    shownId = notificationId;
    $("details").hidden = false;
    $("details-id").textContent = notificationId;
    summary(details);
    countsTable(details);
    const body = $("details-failures").tBodies[0];
    if (!more) body.replaceChildren();
    for (const f of details.failures.items) {
      const device = f.installationId || f.registrationId || "";
      body.appendChild(row([f.platform, device, f.handle, f.template, f.outcome, f.reason]));
    }
    if (!more && !details.failures.items.length) body.appendChild(row(["none", "", "", "", "", ""]));
    failuresToken = details.failures.continuationToken;
    $("more-failures").hidden = !failuresToken;
    if (!more) $("details").scrollIntoView({ block: "nearest" });
  }

  // ---- trace --------------------------------------------------------------------------------

  function why(entry) {
    const parts = entry.reasons.map((reason) => REASONS[reason] || reason);
    for (const f of entry.failures) {
      parts.push(`${f.outcome}${f.pnsReason ? ` (${f.pnsReason})` : ""}` +
        `${f.template ? ` for template ${f.template}` : ""}`);
    }
    if (entry.installationChangedSince) {
      parts.push("the installation changed after this send: judged as it is now");
    }
    return parts.join("; ");
  }

  async function trace(event) {
    event.preventDefault();
    const installation = $("trace-installation").value.trim();
    const notification = $("trace-notification").value.trim();
    const table = $("trace-result");
    table.tBodies[0].replaceChildren();
    table.hidden = true;
    let answer;
    try {
      const query = notification ? { notificationId: notification } : {};
      answer = await api(`installations/${encodeURIComponent(installation)}/trace`, query);
    } catch (error) {
      notice("trace-message", `No trace: ${error.message}`);
      return;
    }
    const expired = answer.pushChannelExpired ? " Its push channel is expired now." : "";
    notice("trace-message", `Installation ${answer.installationId} (${answer.platform}): ` +
      `${answer.notifications.length} notification(s).${expired}`);
    for (const entry of answer.notifications) {
      table.tBodies[0].appendChild(row([
        when(entry.enqueueTime), entry.notificationId.slice(-12), entry.format,
        entry.direct ? "direct" : entry.tags || "everyone", entry.verdict, why(entry),
      ], { "data-verdict": entry.verdict }));
    }
    table.hidden = false;
  }

  // ---- sign in and out ----------------------------------------------------------------------

  async function enter(candidate) {
    session = candidate;
    signed = { token: "", until: 0 };
    await api("messages", { top: "1" }); // proves the key, its Manage right and the hub
    sessionStorage.setItem(STORE, JSON.stringify(candidate));
    $("sign-in-panel").hidden = true;
    $("hub-panel").hidden = false;
    $("signed-in").hidden = false;
    $("hub-name").textContent = candidate.hub;
    await Promise.all([loadMetrics(), loadRecent(false)]);
  }

  async function signIn(event) {
    event.preventDefault();
    notice("sign-in-error", "");
    try {
      if (!window.isSecureContext || !crypto.subtle) {
        throw new Error("the page signs requests with the browser's WebCrypto, which works " +
          "only over https or on localhost / 127.0.0.1; open it at such an address.");
      }
      const parsed = parseConnectionString($("connection-string").value);
      parsed.hub = $("hub").value.trim() || parsed.hub;
      if (!parsed.hub) throw new Error("Name the hub.");
      await enter(parsed);
    } catch (error) {
      session = null;
      notice("sign-in-error", `Could not sign in: ${error.message}`);
    }
  }

  function signOut() {
    sessionStorage.removeItem(STORE);
    session = null;
    location.reload();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("refresh").addEventListener("click", () => Promise.all([loadMetrics(), loadRecent(false)]));
    $("range").addEventListener("change", loadMetrics);
    $("more-notifications").addEventListener("click", () => loadRecent(true));
    $("more-failures").addEventListener("click", () => showDetails(shownId, true));
    $("trace-form").addEventListener("submit", trace);
    const saved = sessionStorage.getItem(STORE);
    if (saved) enter(JSON.parse(saved)).catch(() => sessionStorage.removeItem(STORE));
  });
})();
