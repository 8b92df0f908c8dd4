// Stands in for Sources/SluiceAPI/APIError.swift, whose Hummingbird response code the produce
// parser does not need: the parser only creates errors with a status and a message.
struct APIError: Error, CustomStringConvertible {
  enum Status { case badRequest, contentTooLarge }
  var status: Status
  var message: String
  init(_ status: Status, _ message: String) {
    self.status = status
    self.message = message
  }
  var description: String { "\(status) \(message)" }
}
