import ArgumentParser
import SluiceCore

/// `sluice`: runs the worker, validates configs, and talks to a running worker's admin API.
@main
struct Sluice: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sluice",
    abstract: "Moves events between PostgreSQL, MQTT, HTTP and durable topics, exactly once.",
    discussion: """
      `run` starts a worker; `validate` checks config files without starting anything. The other \
      commands talk to a running worker's admin API at --api (default http://127.0.0.1:8083, or \
      the SLUICE_API environment variable).
      """,
    version: SluiceVersion.current,
    subcommands: [
      RunCommand.self, ValidateCommand.self, TopicsCommand.self, ConsumeCommand.self,
      ProduceCommand.self,
      StatusCommand.self, GroupsCommand.self, ReplayCommand.self,
    ])
}
