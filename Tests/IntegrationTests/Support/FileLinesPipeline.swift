import Foundation

/// The smallest pipeline on a real worker, for tests of what the admin API does to running
/// connectors: file source `lines-in` (reading `in.txt`) into topic `lines`, and file sink
/// `lines-out` writing each value as a line of `out.txt`.
final class FileLinesPipeline {
  let worker: WorkerProcess
  let input: URL
  let output: URL

  /// Writes both connector files; the worker starts with ``start()``. `workerYAMLExtra` goes
  /// into the worker file (`dashboard: {…}`, `log_format: json`), `api` into its `api:` mapping
  /// (`auth: {…}`).
  init(workerYAMLExtra: String = "", api: String = "") throws {
    worker = try WorkerProcess(workerYAMLExtra: workerYAMLExtra, api: api)
    input = worker.directory.appendingPathComponent("in.txt")
    output = worker.directory.appendingPathComponent("out.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    try worker.writeConnector(
      "lines-in",
      """
      name: lines-in
      source: file
      topic: lines
      config: { path: \(input.path), poll_ms: 20 }
      """)
    try worker.writeConnector(
      "lines-out",
      """
      name: lines-out
      sink: file
      topics: [lines]
      config: { path: \(output.path), format: value }
      """)
  }

  func start() throws { try worker.start() }

  /// Appends `line 1`, `line 2`, … to the source's file.
  func append(_ lines: ClosedRange<Int>) throws {
    let handle = try FileHandle(forWritingTo: input)
    handle.seekToEndOfFile()
    handle.write(Data(lines.map { "line \($0)\n" }.joined().utf8))
    try handle.close()
  }

  /// What the sink has written so far.
  func outputLines() -> [String] {
    guard let text = try? String(contentsOf: output, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").map(String.init)
  }

  /// The connector's state followed by each task's, from its status.
  func states(_ name: String) throws -> [String] {
    let s = try worker.getJSON("/connectors/\(name)/status") as? [String: Any]
    let connector = (s?["connector"] as? [String: Any])?["state"] as? String ?? "?"
    let tasks = (s?["tasks"] as? [[String: Any]] ?? []).map { $0["state"] as? String ?? "?" }
    return [connector] + tasks
  }
}
