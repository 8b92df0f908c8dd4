// Sluice dashboard: polls GET /ui/state and redraws the page the worker rendered; draws the
// sparklines as inline SVG; pauses, resumes and restarts connectors through the admin API (so
// its auth applies); reads the newest records of a partition through GET /topics/…/records.
// No library, no build step: this file is served as written, from inside the binary.
"use strict";
(() => {
  const REFRESH_MS = 2500;
  const body = document.body;
  const windowMs = Number(body.dataset.windowMs) || 900000;
  /** Connectors whose details row is open, and those opened once on their own (see render). */
  const open = new Set();
  const autoOpened = new Set();
  /** Last errors read from a connector's dead-letter topic, kept until asked again. */
  const deadLetters = new Map();
  let state = null;
  let browsedOnce = false;
  let timer = 0;
  let messageTimer = 0;

  const $ = (selector, root = document) => root.querySelector(selector);
  const esc = (value) =>
    String(value ?? "").replace(/[&<>"']/g, (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  // MARK: - API

  async function api(method, path) {
    // From the origin, not the page's URL: a page opened as http://user:pass@host/ui would
    // make every relative fetch fail (a URL with credentials), while the browser still sends
    // the credentials it was given for the origin.
    const response = await fetch(location.origin + path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.message) || `${method} ${path} answered ${response.status}`);
    }
    return data;
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      state = await api("GET", "/ui/state");
      render(state);
      setLive("live", "Live · " + new Date(state.generated_at).toLocaleTimeString());
    } catch (error) {
      setLive("error", "Not updating: " + error.message);
    }
    // Another refresh (a button's) may have finished meanwhile: keep one timer, not two.
    clearTimeout(timer);
    if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
  }

  function setLive(kind, text) {
    const live = $("#live");
    live.dataset.state = kind;
    $("#live-text").textContent = text;
  }

  function showMessage(text, isError) {
    const box = $("#message");
    box.textContent = text;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 4000);
  }

  // MARK: - Numbers

  function number(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    const abs = Math.abs(value);
    if (abs >= 1e9) return (value / 1e9).toFixed(1) + "G";
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + "M";
    if (abs >= 1e4) return (value / 1e3).toFixed(1) + "k";
    if (Number.isInteger(value)) return String(value);
    return value.toFixed(abs < 10 ? 2 : 1);
  }

  function bytes(value) {
    if (value === null || value === undefined) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = value;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i];
  }

  const time = (ms) => new Date(ms).toLocaleString();

  // MARK: - Sparklines

  /**
   * A sparkline of [time_ms, value] points over the last window, as inline SVG. `lines` are
   * thresholds drawn across it ({value, kind: "warn" | "fail"}). data-points, data-last and
   * data-max say what it drew, for tests and for people reading the DOM.
   */
  function sparkline(points, options = {}) {
    const width = options.wide ? 420 : 120;
    const height = options.wide ? 64 : 28;
    const { start, span } = chartSpan;
    const lines = (options.lines || []).filter((l) => l.value !== null && l.value !== undefined);
    const top = Math.max(1e-9, ...points.map((p) => p[1]), ...lines.map((l) => l.value)) * 1.1;
    const x = (t) => (Math.max(0, t - start) / span) * width;
    const y = (v) => height - (v / top) * (height - 2) - 1;
    const last = points.length ? points[points.length - 1][1] : "";
    const most = points.length ? Math.max(...points.map((p) => p[1])) : "";
    let shapes = `<line class="baseline" x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}"/>`;
    if (points.length) {
      const path = points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`).join(" ");
      const first = x(points[0][0]).toFixed(1);
      const end = x(points[points.length - 1][0]).toFixed(1);
      shapes += `<path class="area" d="${path} L${end} ${height} L${first} ${height} Z"/>`;
      shapes += `<path class="line" d="${path}"/>`;
    }
    for (const line of lines) {
      const ly = y(line.value).toFixed(1);
      shapes += `<line class="${line.kind}-line" x1="0" y1="${ly}" x2="${width}" y2="${ly}"/>`;
    }
    const label = options.label || "chart";
    return `<svg class="spark${options.wide ? " wide" : ""}" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}" data-series="${esc(options.series || "")}" data-points="${points.length}" data-last="${last}" data-max="${most}">${shapes}<title>${esc(label)}</title></svg>`;
  }

  /**
   * The time every chart spans: the window, or since the oldest point when the worker has run
   * for less (so a young worker's charts fill their width), and at least a minute. One span for
   * all charts keeps them aligned.
   */
  let chartSpan = { start: Date.now() - windowMs, span: windowMs };

  function measureCharts(s) {
    const now = s.generated_at;
    let oldest = now;
    for (const c of s.connectors) {
      const charts = [c.throughput, c.lag].concat(c.slots.map((slot) => slot.retained_wal_bytes));
      for (const chart of charts) {
        if (chart && chart.points.length) oldest = Math.min(oldest, chart.points[0][0]);
      }
    }
    const span = Math.min(windowMs, Math.max(60000, now - oldest));
    chartSpan = { start: now - span, span };
  }

  // MARK: - Rendering

  function render(s) {
    measureCharts(s);
    $("#worker-id").textContent = s.worker.id;
    $("#worker-version").textContent = s.worker.version;
    const brokers = s.worker.store.brokers || [];
    $("#worker-store").textContent = s.worker.store.kind + (brokers.length ? ` (${brokers.join(", ")})` : "");
    document.title = "Sluice · " + s.worker.id;
    renderSummary(s);
    for (const c of s.connectors) {
      // A connector that needs attention (failed, a slot, a snapshot) shows its details once.
      const notable = c.state === "FAILED" || c.slots.length > 0 || c.snapshot
        || c.tasks.some((t) => t.warnings && t.warnings.length);
      if (notable && !autoOpened.has(c.name)) { autoOpened.add(c.name); open.add(c.name); }
    }
    $("#connectors-body").innerHTML = s.connectors.length
      ? s.connectors.map(connectorRows).join("")
      : `<tr class="empty-row"><td colspan="7">No connectors. Add a file to connectors_dir or POST /connectors.</td></tr>`;
    $("#topics-body").innerHTML = s.topics.length
      ? s.topics.map(topicRow).join("")
      : `<tr class="empty-row"><td colspan="5">No topics yet.</td></tr>`;
    const topicsError = $("#topics-error");
    topicsError.textContent = s.topics_error || "";
    topicsError.hidden = !s.topics_error;
    renderBrowserChoices(s);
    // The browser shows the first topic's newest records by itself once, so it is never blank
    // when there is something to show.
    if (!browsedOnce && s.topics.length) {
      browsedOnce = true;
      showRecords();
    }
  }

  function renderSummary(s) {
    const running = s.connectors.filter((c) => c.state === "RUNNING").length;
    const failed = s.connectors.flatMap((c) => c.tasks).filter((t) => t.state === "FAILED").length;
    const rate = (type) => s.connectors.filter((c) => c.type === type)
      .reduce((sum, c) => sum + (c.throughput.latest || 0), 0);
    const dlq = s.connectors.reduce((sum, c) => sum + (c.dead_letters.count || 0), 0);
    const cards = [
      ["connectors", "Connectors running", `${running} / ${s.connectors.length}`, false],
      ["failed", "Failed tasks", String(failed), failed > 0],
      ["in", "In (records/s)", number(rate("source")), false],
      ["out", "Out (records/s)", number(rate("sink")), false],
      ["dlq", "Dead letters", number(dlq), dlq > 0],
    ];
    $("#summary").innerHTML = cards.map(([key, label, value, alert]) =>
      `<div class="card${alert ? " alert" : ""}" data-card="${key}"><div class="card-label">${esc(label)}</div><div class="card-value">${esc(value)}</div></div>`).join("");
  }

  function statePill(state, extra = "") {
    return `<span class="pill ${extra} ${esc(state.toLowerCase())}"${extra.includes("state") ? ' data-role="state"' : ""}>${esc(state)}</span>`;
  }

  function slotAlarm(c) {
    return c.slots.some((s) => s.warn_bytes != null && s.retained_wal_bytes.latest != null && s.retained_wal_bytes.latest > s.warn_bytes);
  }

  function connectorRows(c) {
    const isOpen = open.has(c.name);
    const name = esc(c.name);
    const tasks = c.tasks.map((t) => `<span class="pill small ${esc(t.state.toLowerCase())}" title="task ${t.id}: ${number(t.throughput.latest)} records/s">${t.id}: ${esc(t.state)}</span>`).join(" ");
    const lag = c.lag
      ? `<div class="metric">${sparkline(c.lag.points, { series: "lag", label: `${c.name} lag (records)` })}<span class="value" data-role="lag">${number(c.lag.latest)}</span></div>`
      : `<span class="sub">—</span>`;
    const dlq = c.dead_letters.count || 0;
    const actions = [];
    if (c.state === "RUNNING") actions.push(button("pause", c.name, "Pause"));
    if (c.state === "PAUSED" || c.state === "STOPPED") actions.push(button("resume", c.name, "Resume"));
    actions.push(button("restart", c.name, "Restart"));
    // Warnings the tasks report (a slot above its threshold), else the page's own reading.
    const warnings = c.tasks.flatMap((t) => t.warnings || []);
    const critical = warnings.some((w) => w.severity === "CRITICAL");
    let warn = "";
    if (warnings.length) {
      warn = ` <span class="pill small ${critical ? "failed" : "warn"}" data-role="warning" title="${esc(warnings.map((w) => w.message).join("\n"))}">${critical ? "CRITICAL" : "WARNING"}</span>`;
    } else if (slotAlarm(c)) {
      warn = ` <span class="pill small warn" title="a replication slot holds more WAL than its warn threshold">WAL</span>`;
    }
    return `
      <tr class="connector${isOpen ? " open" : ""}" data-connector="${name}">
        <td><button class="toggle" type="button" data-action="toggle" data-connector="${name}" aria-expanded="${isOpen}" title="Details">${isOpen ? "▾" : "▸"}</button><span class="name">${name}</span>
          <div class="sub">${esc(c.type)} · ${esc(c.connector_type)}</div>
          ${c.trace ? `<div class="trace">${esc(c.trace)}</div>` : ""}</td>
        <td>${statePill(c.state, "state")}${warn}</td>
        <td class="tasks">${tasks}</td>
        <td class="num"><div class="metric">${sparkline(c.throughput.points, { series: "throughput", label: `${c.name} records per second` })}<span class="value" data-role="rate">${number(c.throughput.latest)}</span></div></td>
        <td class="num">${lag}</td>
        <td class="num"><span class="${dlq > 0 ? "pill small failed" : ""}" data-role="dlq">${number(dlq)}</span></td>
        <td class="actions-col">${actions.join("")}</td>
      </tr>
      <tr class="details" data-details-for="${name}"${isOpen ? "" : " hidden"}><td colspan="7">${isOpen ? details(c) : ""}</td></tr>`;
  }

  function button(action, connector, label, task) {
    const taskAttribute = task === undefined ? "" : ` data-task="${task}"`;
    return `<button type="button" class="button" data-action="${action}" data-connector="${esc(connector)}"${taskAttribute}>${esc(label)}</button>`;
  }

  function details(c) {
    const boxes = [tasksBox(c)];
    if (c.snapshot) boxes.push(snapshotBox(c.snapshot));
    for (const slot of c.slots) boxes.push(slotBox(slot));
    boxes.push(deadLetterBox(c));
    return `<div class="detail-grid">${boxes.join("")}</div>`;
  }

  function tasksBox(c) {
    const tasks = c.tasks.map((t) => {
      const chips = Object.keys(t.details || {}).sort().map((k) =>
        `<span class="chip"><b>${esc(k)}</b> ${esc(t.details[k])}</span>`).join("");
      return `<div class="task">
        <div class="task-head">${statePill(t.state, "small")}<span>task ${t.id}</span><span class="sub">${esc(t.worker_id)}${t.restarts ? ` · ${t.restarts} restarts` : ""}</span>
          <span class="spacer"></span><span class="metric">${sparkline(t.throughput.points, { series: "task-throughput", label: `task ${t.id} records per second` })}<span class="value">${number(t.throughput.latest)}</span><span class="sub">/s</span></span>
          ${button("restart-task", c.name, "Restart task", t.id)}</div>
        ${t.trace ? `<div class="trace">${esc(t.trace)}</div>` : ""}
        ${(t.warnings || []).map((w) => `<div class="warnline${w.severity === "CRITICAL" ? " bad" : ""}">${esc(w.severity)}: ${esc(w.message)}</div>`).join("")}
        ${chips ? `<div class="chips">${chips}</div>` : ""}
      </div>`;
    }).join("");
    return `<div class="box"><h3>Tasks</h3>${tasks || `<p class="sub">No tasks running.</p>`}</div>`;
  }

  function snapshotBox(snapshot) {
    const fraction = snapshot.fraction;
    const facts = [];
    if (snapshot.total_tables != null) facts.push(`${snapshot.total_tables} tables`);
    if (snapshot.remaining_tables != null) facts.push(`${snapshot.remaining_tables} remaining`);
    if (snapshot.rows != null) facts.push(`${number(snapshot.rows)} rows read`);
    const percent = fraction == null ? "" : ` · ${(fraction * 100).toFixed(0)}%`;
    return `<div class="box" data-role="snapshot"><h3>Snapshot${percent}</h3>
      ${fraction == null ? "<progress></progress>" : `<progress max="1" value="${fraction}"></progress>`}
      <div class="sub">${esc(facts.join(" · "))}</div>
      ${snapshot.text ? `<div class="sub">${esc(snapshot.text)}</div>` : ""}</div>`;
  }

  function slotBox(slot) {
    const retained = slot.retained_wal_bytes.latest;
    const lines = [];
    if (slot.warn_bytes != null) lines.push({ value: slot.warn_bytes, kind: "warn" });
    if (slot.fail_bytes != null) lines.push({ value: slot.fail_bytes, kind: "fail" });
    let verdict = "";
    if (retained != null && slot.fail_bytes != null && retained > slot.fail_bytes) {
      verdict = `<div class="warnline bad">Above the fail threshold (${bytes(slot.fail_bytes)})</div>`;
    } else if (retained != null && slot.warn_bytes != null && retained > slot.warn_bytes) {
      verdict = `<div class="warnline">Above the warn threshold (${bytes(slot.warn_bytes)})</div>`;
    }
    const thresholds = lines.map((l) => `${l.kind} at ${bytes(l.value)}`).join(" · ");
    return `<div class="box" data-role="slot"><h3>Slot ${esc(slot.slot)} · WAL retained</h3>
      <div><b>${bytes(retained)}</b> <span class="sub">${esc(thresholds)}</span></div>
      ${sparkline(slot.retained_wal_bytes.points, { wide: true, lines, series: "slot", label: `slot ${slot.slot} retained WAL` })}
      ${verdict}</div>`;
  }

  function deadLetterBox(c) {
    const dl = c.dead_letters;
    const list = deadLetters.get(c.name) || "";
    const asks = dl.topic_exists
      ? `<button type="button" class="button link" data-action="dead-letters" data-connector="${esc(c.name)}">Show last errors</button>`
      : `<span class="sub">none yet</span>`;
    return `<div class="box" data-role="dead-letters"><h3>Dead letters</h3>
      <div><b>${number(dl.count || 0)}</b> <span class="sub">to ${esc(dl.topic)}</span> · ${asks}</div>${list}</div>`;
  }

  function topicRow(t) {
    const kept = t.partitions.reduce((sum, p) => sum + (p.end_offset - p.start_offset), 0);
    const offsets = t.partitions.map((p) => `<span class="offset">p${p.partition} <b>${p.start_offset}</b>→<b>${p.end_offset}</b></span>`).join(" ");
    return `<tr data-topic="${esc(t.name)}"><td class="name">${esc(t.name)}</td><td class="num">${t.partitions.length}</td><td class="num">${number(kept)}</td><td class="offsets">${offsets}</td>
      <td class="actions-col"><button type="button" class="button" data-action="browse" data-topic="${esc(t.name)}">Browse</button></td></tr>`;
  }

  // MARK: - Record browser

  function renderBrowserChoices(s) {
    const topicSelect = $("#browser-topic");
    const chosen = topicSelect.value;
    const names = s.topics.map((t) => t.name);
    const current = Array.from(topicSelect.options).map((o) => o.value);
    if (names.join("\n") !== current.join("\n")) {
      topicSelect.innerHTML = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
      if (names.includes(chosen)) topicSelect.value = chosen;
    }
    renderPartitionChoices();
  }

  function renderPartitionChoices() {
    const topic = state && state.topics.find((t) => t.name === $("#browser-topic").value);
    const select = $("#browser-partition");
    const chosen = select.value;
    const count = topic ? topic.partitions.length : 1;
    if (select.options.length !== count) {
      select.innerHTML = Array.from({ length: count }, (_, i) => `<option value="${i}">${i}</option>`).join("");
      if (Number(chosen) < count) select.value = chosen;
    }
  }

  /** The newest `limit` records of one partition, newest first. */
  async function newestRecords(topicName, partition, limit) {
    const topic = state && state.topics.find((t) => t.name === topicName);
    const bounds = topic && topic.partitions.find((p) => p.partition === partition);
    if (!bounds || bounds.end_offset <= bounds.start_offset) return [];
    const from = Math.max(bounds.start_offset, bounds.end_offset - limit);
    const path = `/topics/${encodeURIComponent(topicName)}/records?partition=${partition}&offset=${from}&limit=${limit}`;
    const records = (await api("GET", path)) || [];
    return records.reverse();
  }

  function pretty(record, field) {
    if (record[field + "_b64"] !== undefined) return { text: record[field + "_b64"], note: "base64" };
    const value = record[field];
    if (value === null || value === undefined) return { text: "null", note: "", empty: true };
    if (typeof value === "object") return { text: JSON.stringify(value, null, 2), note: "JSON" };
    return { text: String(value), note: typeof value === "string" ? "" : "JSON" };
  }

  function recordRow(record) {
    const key = pretty(record, "key");
    const value = pretty(record, "value");
    const headerNames = Object.keys(record.headers || {});
    const headers = headerNames.length
      ? `<table class="headers-table">${headerNames.map((n) => {
          const v = record.headers[n];
          const text = v && typeof v === "object" ? `${v.b64} (base64)` : v;
          return `<tr><td>${esc(n)}</td><td>${esc(text)}</td></tr>`;
        }).join("")}</table>`
      : `<span class="sub">—</span>`;
    const note = (p) => (p.note ? `<span class="note">${esc(p.note)}</span>` : "");
    return `<tr class="record" data-offset="${record.offset}">
      <td class="num mono">${record.offset}</td>
      <td class="mono sub">${esc(time(record.timestamp))}</td>
      <td><pre data-role="key"${key.empty ? ' class="null"' : ""}>${esc(key.text)}</pre>${note(key)}</td>
      <td><pre data-role="value"${value.empty ? ' class="null"' : ""}>${esc(value.text)}</pre>${note(value)}</td>
      <td>${headers}</td></tr>`;
  }

  function recordTable(records) {
    return `<table class="grid records-table"><thead><tr><th class="num">Offset</th><th>Time</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
      <tbody>${records.map(recordRow).join("")}</tbody></table>`;
  }

  async function showRecords() {
    const topic = $("#browser-topic").value;
    const partition = Number($("#browser-partition").value) || 0;
    const limit = Number($("#browser-limit").value) || 25;
    const target = $("#records");
    if (!topic) { target.innerHTML = `<p class="empty">No topic to show.</p>`; return; }
    target.innerHTML = `<p class="empty">Reading ${esc(topic)}…</p>`;
    try {
      const records = await newestRecords(topic, partition, limit);
      target.innerHTML = records.length
        ? recordTable(records)
        : `<p class="empty">Partition ${partition} of ${esc(topic)} keeps no records.</p>`;
    } catch (error) {
      target.innerHTML = `<p class="empty">${esc(error.message)}</p>`;
    }
  }

  async function showDeadLetters(connector) {
    const c = state && state.connectors.find((x) => x.name === connector);
    if (!c) return;
    const topic = state.topics.find((t) => t.name === c.dead_letters.topic);
    deadLetters.set(connector, `<p class="sub">Reading ${esc(c.dead_letters.topic)}…</p>`);
    render(state);
    try {
      let records = [];
      for (const p of topic ? topic.partitions : []) {
        records = records.concat(await newestRecords(topic.name, p.partition, 5));
      }
      records.sort((a, b) => b.timestamp - a.timestamp);
      const items = records.slice(0, 10).map((r) => {
        const h = r.headers || {};
        const from = h["sluice.error.topic"] ? `${h["sluice.error.topic"]}[${h["sluice.error.partition"] ?? "?"}]@${h["sluice.error.offset"] ?? "?"}` : "";
        return `<li><div class="reason">${esc(h["sluice.error.reason"] || "(no reason header)")}</div>
          <div class="sub">${esc(time(r.timestamp))}${from ? " · from " + esc(from) : ""}${h["sluice.error.attempts"] ? " · " + esc(h["sluice.error.attempts"]) + " attempts" : ""}</div></li>`;
      });
      deadLetters.set(connector, items.length ? `<ul class="errors">${items.join("")}</ul>` : `<p class="sub">The topic keeps no records.</p>`);
    } catch (error) {
      deadLetters.set(connector, `<p class="sub">${esc(error.message)}</p>`);
    }
    render(state);
  }

  // MARK: - Controls

  async function control(action, connector, task) {
    const name = encodeURIComponent(connector);
    const requests = {
      pause: ["PUT", `/connectors/${name}/pause`, "Pausing"],
      resume: ["PUT", `/connectors/${name}/resume`, "Resuming"],
      restart: ["POST", `/connectors/${name}/restart?includeTasks=true`, "Restarting"],
      "restart-task": ["POST", `/connectors/${name}/tasks/${task}/restart`, `Restarting task ${task} of`],
    };
    const [method, path, verb] = requests[action];
    try {
      await api(method, path);
      showMessage(`${verb} ${connector}.`, false);
    } catch (error) {
      showMessage(error.message, true);
    }
    // Pause and resume are answered before the tasks have changed state: look again soon.
    await refresh();
    setTimeout(refresh, 600);
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const { action, connector, topic, task } = target.dataset;
    if (action === "toggle") {
      if (open.has(connector)) open.delete(connector); else open.add(connector);
      if (state) render(state);
    } else if (action === "browse") {
      $("#browser-topic").value = topic;
      renderPartitionChoices();
      $("#browser").scrollIntoView({ behavior: "smooth", block: "start" });
      showRecords();
    } else if (action === "dead-letters") {
      showDeadLetters(connector);
    } else {
      target.disabled = true;
      control(action, connector, task);
    }
  });

  $("#browser-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showRecords();
  });
  $("#browser-topic").addEventListener("change", renderPartitionChoices);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });

  refresh();
})();
