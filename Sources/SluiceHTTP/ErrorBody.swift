import SluiceCore

/// The JSON of an error answer in Kafka Connect's shape, `{"error_code":404,"message":"…"}`
/// and a newline: the admin API's and the webhook endpoints' bodies, written the same way.
public enum ErrorBody {
  public static func json(code: Int, message: String) -> String {
    var out = JSONWriter(capacity: 48 + message.utf8.count)
    out.raw("{\"error_code\":")
    out.number(Int64(code))
    out.raw(",\"message\":")
    out.string(message)
    out.raw("}\n")
    return out.text
  }
}
