import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Options shared by the commands that talk to a running worker.
struct APIOptions: ParsableArguments {
    @Option(help: "The worker's admin API (default: $SLUICE_API or http://127.0.0.1:8083).")
    var api: String?

    var baseURL: String {
        let value = api ?? ProcessInfo.processInfo.environment["SLUICE_API"] ?? "http://127.0.0.1:8083"
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }
}

/// A minimal client of the admin API: one request, the body back, errors as clear messages.
struct APIClient {
    let baseURL: String

    func get(_ path: String) async throws -> Data {
        try await send(path, method: "GET", body: nil)
    }

    func post(_ path: String, json: Data) async throws -> Data {
        try await send(path, method: "POST", body: json)
    }

    private func send(_ path: String, method: String, body: Data?) async throws -> Data {
        guard let url = URL(string: baseURL + path) else { throw Failure("invalid API address '\(baseURL)'") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 120
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Failure("cannot reach the worker at \(baseURL): \(error.localizedDescription) (is `sluice run` running? set --api or SLUICE_API)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            let message = object?["message"] as? String ?? String(decoding: data, as: UTF8.self)
            throw Failure("\(method) \(path): \(status) \(message)")
        }
        return data
    }

    /// `text` as a URL path segment.
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }
}

extension FileHandle {
    func writeLine(_ text: String) {
        write(Data((text + "\n").utf8))
    }
}
