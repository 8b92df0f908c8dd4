import Foundation
import SluiceCore

/// The dashboard's HTML, rendered on the server from a ``DashboardState``: the header, the
/// connectors with their states and tasks, and the topics with their offsets are in the page
/// itself, so it reads without JavaScript (and with `curl`). `dashboard.js` then polls
/// `GET /ui/state` and redraws the same elements with charts, controls and the record browser.
///
/// Element ids, classes and `data-` attributes here are the ones the script looks for.
enum DashboardPage {
  static func render(_ state: DashboardState) -> String {
    let worker = state.worker
    return """
      <!doctype html>
      <html lang="en">
      <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <meta name="referrer" content="no-referrer">
      <title>Sluice · \(e(worker.id))</title>
      <link rel="icon" href="\(faviconDataURL)">
      <link rel="stylesheet" href="/ui/dashboard.css">
      <script src="/ui/dashboard.js" defer></script>
      </head>
      <body data-sample-interval-ms="\(state.sampleIntervalMs)" data-window-ms="\(state.windowMs)">
      <header class="topbar">
        <div class="brand">\(logo)<span>Sluice</span></div>
        <dl class="worker-facts">
          <div><dt>Worker</dt><dd id="worker-id">\(e(worker.id))</dd></div>
          <div><dt>Version</dt><dd id="worker-version">\(e(worker.version))</dd></div>
          <div><dt>Store</dt><dd id="worker-store">\(e(storeText(worker.store)))</dd></div>
        </dl>
        <div id="live" class="live" data-state="static" title="Updates every few seconds while JavaScript runs">
          <span class="dot"></span><span id="live-text">as of \(e(timeText(state.generatedAt)))</span>
        </div>
      </header>
      <main>
      <noscript><p class="notice">JavaScript is off: this page shows the worker as it was when loaded. Charts, live updates, the controls and the record browser need JavaScript.</p></noscript>
      <section id="summary" class="cards">\(summaryCards(state))</section>
      <section class="panel">
        <div class="panel-head"><h2>Connectors</h2><span class="hint">Rates and charts cover the last \(state.windowMs / 60_000) minutes, a point every \(intervalText(state.sampleIntervalMs)).</span></div>
        <div id="message" class="message" role="status" hidden></div>
        <table class="grid connectors">
          <thead><tr><th>Connector</th><th>State</th><th>Tasks</th><th class="num">Records/s</th><th class="num">Lag</th><th class="num">Dead letters</th><th class="actions-col">Actions</th></tr></thead>
          <tbody id="connectors-body">\(connectorRows(state.connectors))</tbody>
        </table>
      </section>
      <section class="panel">
        <div class="panel-head"><h2>Topics</h2><span class="hint">Offsets per partition: first kept → next to be written.</span></div>
        <table class="grid topics">
          <thead><tr><th>Topic</th><th class="num">Partitions</th><th class="num">Records kept</th><th>Offsets</th><th class="actions-col"></th></tr></thead>
          <tbody id="topics-body">\(topicRows(state.topics))</tbody>
        </table>
        <p id="topics-error" class="message error"\(state.topicsError == nil ? " hidden" : "")>\(e(state.topicsError ?? ""))</p>
      </section>
      <section class="panel" id="browser">
        <div class="panel-head"><h2>Record browser</h2><span class="hint">The newest records of a partition, key, value and headers.</span></div>
        <form id="browser-form" class="browser-form">
          <label>Topic <select id="browser-topic" name="topic">\(topicOptions(state.topics))</select></label>
          <label>Partition <select id="browser-partition" name="partition"><option value="0">0</option></select></label>
          <label>Newest <select id="browser-limit" name="limit"><option selected>10</option><option>25</option><option>100</option></select></label>
          <button type="submit" class="button primary" id="browser-load">Show records</button>
        </form>
        <div id="records" class="records"><p class="empty">Choose a topic and show its newest records.</p></div>
      </section>
      </main>
      <footer>Sluice \(e(worker.version)) · Kafka Connect REST API \(e(worker.kafkaConnectVersion)) · <a href="/openapi.json">OpenAPI</a> · <a href="/metrics">Prometheus metrics</a></footer>
      </body>
      </html>

      """
  }

  // MARK: - Sections

  private static func summaryCards(_ state: DashboardState) -> String {
    let running = state.connectors.filter { $0.state == .running }.count
    let failedTasks = state.connectors.flatMap(\.tasks).filter { $0.state == .failed }.count
    let inRate = state.connectors.filter { $0.type == "source" }.compactMap(\.throughput.latest)
      .reduce(0, +)
    let outRate = state.connectors.filter { $0.type == "sink" }.compactMap(\.throughput.latest)
      .reduce(0, +)
    let deadLetters = state.connectors.compactMap(\.deadLetters.count).reduce(0, +)
    return [
      card("connectors", "Connectors running", "\(running) / \(state.connectors.count)"),
      card("failed", "Failed tasks", "\(failedTasks)", alert: failedTasks > 0),
      card("in", "In (records/s)", number(inRate)),
      card("out", "Out (records/s)", number(outRate)),
      card("dlq", "Dead letters", number(deadLetters), alert: deadLetters > 0),
    ].joined()
  }

  private static func card(_ key: String, _ label: String, _ value: String, alert: Bool = false)
    -> String
  {
    """
    <div class="card\(alert ? " alert" : "")" data-card="\(key)"><div class="card-label">\(e(label))</div><div class="card-value">\(e(value))</div></div>
    """
  }

  private static func connectorRows(_ connectors: [ConnectorView]) -> String {
    guard !connectors.isEmpty else {
      return
        #"<tr class="empty-row"><td colspan="7">No connectors. Add a file to connectors_dir or POST /connectors.</td></tr>"#
    }
    return connectors.map { c in
      let tasks = c.tasks.map(\.status).map { t in
        #"<span class="pill small \#(t.state.rawValue.lowercased())" title="task \#(t.id)">\#(t.id): \#(t.state.rawValue)</span>"#
      }.joined(separator: " ")
      let trace = c.trace.map { #"<div class="trace">\#(e($0))</div>"# } ?? ""
      return """
        <tr class="connector" data-connector="\(e(c.name))">
        <td><div class="name">\(e(c.name))</div><div class="sub">\(e(c.type)) · \(e(c.connectorType))</div>\(trace)</td>
        <td><span class="pill state \(c.state.rawValue.lowercased())" data-role="state">\(c.state.rawValue)</span></td>
        <td class="tasks">\(tasks)</td>
        <td class="num">\(c.throughput.latest.map(number) ?? "—")</td>
        <td class="num">\(c.lag?.latest.map(number) ?? "—")</td>
        <td class="num">\(c.deadLetters.count.map(number) ?? "0")</td>
        <td class="actions-col"></td>
        </tr>
        """
    }.joined()
  }

  private static func topicRows(_ topics: [TopicSummary]) -> String {
    guard !topics.isEmpty else {
      return #"<tr class="empty-row"><td colspan="5">No topics yet.</td></tr>"#
    }
    return topics.map { t in
      let kept = t.partitions.reduce(Int64(0)) { $0 + ($1.endOffset - $1.startOffset) }
      let offsets = t.partitions.map {
        #"<span class="offset">p\#($0.partition) <b>\#($0.startOffset)</b>→<b>\#($0.endOffset)</b></span>"#
      }.joined(separator: " ")
      return """
        <tr data-topic="\(e(t.name))"><td class="name">\(e(t.name))</td><td class="num">\(t.partitions.count)</td><td class="num">\(kept)</td><td class="offsets">\(offsets)</td><td class="actions-col"></td></tr>
        """
    }.joined()
  }

  private static func topicOptions(_ topics: [TopicSummary]) -> String {
    topics.map { #"<option value="\#(e($0.name))">\#(e($0.name))</option>"# }.joined()
  }

  // MARK: - Text

  private static func e(_ text: String) -> String { HTMLText.escape(text) }

  private static func storeText(_ store: StoreDescription) -> String {
    store.brokers.isEmpty ? store.kind : "\(store.kind) (\(store.brokers.joined(separator: ", ")))"
  }

  /// A figure as the table shows it: whole numbers plain, small rates with one decimal.
  static func number(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
    return String(format: abs(value) < 10 ? "%.2f" : "%.1f", value)
  }

  private static func intervalText(_ ms: Int64) -> String {
    ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
  }

  private static func timeText(_ ms: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
  }

  // MARK: - Images

  /// The mark in the header: water through a sluice gate.
  private static let logo = """
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect x="3" y="4" width="5" height="24" rx="1.5"/><rect x="24" y="4" width="5" height="24" rx="1.5"/><rect x="9" y="4" width="14" height="9" rx="1"/><path d="M9 19c2.3 0 2.3 2 4.7 2s2.3-2 4.6-2 2.4 2 4.7 2" fill="none" stroke-width="2.2" stroke-linecap="round"/><path d="M9 24.5c2.3 0 2.3 2 4.7 2s2.3-2 4.6-2 2.4 2 4.7 2" fill="none" stroke-width="2.2" stroke-linecap="round"/></svg>
    """

  /// A favicon inside the page, so the browser asks the worker for no `/favicon.ico` (a 404
  /// would be an error in its console).
  private static let faviconDataURL =
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%230e7490'/%3E%3Cpath d='M7 13c3 0 3 3 6 3s3-3 6-3 3 3 6 3M7 20c3 0 3 3 6 3s3-3 6-3 3 3 6 3' fill='none' stroke='white' stroke-width='2.6' stroke-linecap='round'/%3E%3C/svg%3E"
}
