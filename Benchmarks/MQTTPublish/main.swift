// sluice-mqtt-publish: publishes numbered JSON readings to an MQTT broker as fast as the broker
// acknowledges them, and exits once every one is acknowledged (mosquitto_pub -l does not wait
// for all of them). Used by the MQTT benchmark and the MQTT integration tests.
//
//   sluice-mqtt-publish --port 1883 --count 500000 [--host 127.0.0.1] [--qos 1]
//     [--topic 'plant/d{device}/temperature'] [--devices 100] [--first 0] [--bytes 100]
//     [--inflight 1000] [--protocol 5|3.1.1] [--cafile ca.pem] [--rate messages-per-second]
//
// Message n (from --first) goes to device n % devices and reads
// {"device":"d-007","seq":n,"temp":21.5,"pad":"xx…"} padded to about --bytes bytes.
import CMosquitto
import Foundation

struct Options {
  var host = "127.0.0.1"
  var port: Int32 = 1883
  var count = 10_000
  var first = 0
  var qos: Int32 = 1
  var topic = "plant/d{device}/temperature"
  var devices = 100
  var bytes = 100
  var inflight = 1000
  var protocolVersion = MQTT_PROTOCOL_V5
  var caFile: String?
  /// Messages per second at most (0: as fast as the broker acknowledges).
  var rate = 0

  init(_ arguments: [String]) {
    var i = 1
    while i + 1 < arguments.count {
      let value = arguments[i + 1]
      switch arguments[i] {
      case "--host": host = value
      case "--port": port = Int32(value)!
      case "--count": count = Int(value)!
      case "--first": first = Int(value)!
      case "--qos": qos = Int32(value)!
      case "--topic": topic = value
      case "--devices": devices = max(1, Int(value)!)
      case "--bytes": bytes = Int(value)!
      case "--inflight": inflight = Int(value)!
      case "--protocol": protocolVersion = value == "3.1.1" ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5
      case "--cafile": caFile = value
      case "--rate": rate = Int(value)!
      default: fatalError("unknown option \(arguments[i])")
      }
      i += 2
    }
  }
}

let options = Options(CommandLine.arguments)
mosquitto_lib_init()
let progress = Progress()
guard let mosq = mosquitto_new(nil, true, Unmanaged.passUnretained(progress).toOpaque()) else {
  fatalError("mosquitto_new failed")
}
mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, Int32(options.protocolVersion))
mosquitto_max_inflight_messages_set(mosq, UInt32(options.inflight))
if let ca = options.caFile {
  precondition(mosquitto_tls_set(mosq, ca, nil, nil, nil, nil) == 0, "TLS setup failed")
}
mosquitto_connect_callback_set(mosq, onConnect)
mosquitto_publish_callback_set(mosq, onPublish)
var rc = mosquitto_connect(mosq, options.host, options.port, 60)
guard rc == 0 else { fatalError("connect: \(String(cString: mosquitto_strerror(rc)))") }
mosquitto_loop_start(mosq)
progress.lock.lock()
while !progress.connected { progress.lock.wait() }
progress.lock.unlock()

let started = Date()
let padding = String(repeating: "x", count: max(0, options.bytes - 60))
for n in options.first..<(options.first + options.count) {
  // Keep at most `inflight` messages unacknowledged, so memory stays flat for any count.
  progress.lock.lock()
  while n - options.first - progress.acknowledged >= options.inflight { progress.lock.wait() }
  progress.lock.unlock()
  if options.rate > 0 {
    let due = started.addingTimeInterval(Double(n - options.first) / Double(options.rate))
    let wait = due.timeIntervalSinceNow
    if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
  }
  let device = n % options.devices
  let name = String(format: "d-%03d", device)
  let topic = options.topic.replacingOccurrences(
    of: "{device}", with: String(format: "%03d", device))
  let payload = "{\"device\":\"\(name)\",\"seq\":\(n),\"temp\":21.5,\"pad\":\"\(padding)\"}"
  repeat {
    rc = payload.withCString {
      mosquitto_publish(mosq, nil, topic, Int32(strlen($0)), $0, options.qos, false)
    }
    if rc != 0 { usleep(10_000) }  // not connected: try again
  } while rc != 0
}
progress.lock.lock()
while options.qos > 0 && progress.acknowledged < options.count { progress.lock.wait() }
progress.lock.unlock()
let seconds = Date().timeIntervalSince(started)
mosquitto_disconnect(mosq)
mosquitto_loop_stop(mosq, false)
print("published \(options.count) in \(String(format: "%.3f", seconds)) s")
