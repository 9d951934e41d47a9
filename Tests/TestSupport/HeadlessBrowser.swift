import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Debian's Chromium, headless, driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`): commands go in on the browser's fd 3, answers
/// and events come out on its fd 4, each message JSON ended by a NUL byte. No
/// WebSocket client and no driver package needed.
///
/// Pipe reads and writes block, so they run on Dispatch threads, never on
/// Swift's cooperative pool, which the server under test needs.
public final class HeadlessBrowser: @unchecked Sendable {  // Used by one test task at a time.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let process: pid_t
    private let commands: Int32
    private let messages: Int32
    private let profile: URL
    private var received: [UInt8] = []
    private var events: [[String: Any]] = []
    private var nextID = 1
    private var session: String?
    /// The page `open` made last: closed by the next `open`, as a reload
    /// replaces its page (a page left open would go on running its
    /// script, and writing the storage the next page reads).
    private var target: String?

    public static let executable = "/usr/bin/chromium"

    public init() throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-chromium-\(UUID().uuidString)")
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure(description: "pipe failed") }
        // Our ends must not leak into the browser.
        _ = fcntl(toBrowser[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fromBrowser[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Through high numbers first, in case a pipe end already is 3 or 4.
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 100)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 101)
        posix_spawn_file_actions_adddup2(&actions, 100, 3)
        posix_spawn_file_actions_adddup2(&actions, 101, 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [
            // --disable-dev-shm-usage: a container's small /dev/shm is a
            // known cause of Chromium exiting under load.
            Self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
            "--remote-debugging-pipe", "--user-data-dir=\(profile.path)", "about:blank",
        ]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, Self.executable, &actions, nil, &argv, environ)
        Glibc.close(toBrowser[0])
        Glibc.close(fromBrowser[1])
        guard status == 0 else {
            Glibc.close(toBrowser[1])
            Glibc.close(fromBrowser[0])
            throw Failure(
                description: "cannot start \(Self.executable) (\(String(cString: strerror(status)))); scripts/install-system-packages.sh installs it"
            )
        }
        process = pid
        commands = toBrowser[1]
        messages = fromBrowser[0]
    }

    /// Opens `url` in a new page, waits until it has loaded, and directs the
    /// page commands that follow at it.
    public func open(_ url: String) async throws {
        if let previous = target {
            _ = try await send("Target.closeTarget", ["targetId": previous], session: false)
            target = nil
            session = nil
            events = []
        }
        let target = try await send("Target.createTarget", ["url": "about:blank"], session: false)
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "no target: \(target)") }
        self.target = targetID
        let attached = try await send("Target.attachToTarget", ["targetId": targetID, "flatten": true], session: false)
        session = attached["sessionId"] as? String
        _ = try await send("Page.enable")
        _ = try await send("Page.navigate", ["url": url])
        _ = try await event("Page.loadEventFired")
    }

    /// Evaluates JavaScript in the page, awaiting it if it is a promise, and returns its JSON value.
    public func evaluate(_ expression: String) async throws -> Any? {
        let answer = try await send("Runtime.evaluate", ["expression": expression, "awaitPromise": true, "returnByValue": true])
        if let exception = answer["exceptionDetails"] {
            throw Failure(description: "the page threw: \(exception)")
        }
        return (answer["result"] as? [String: Any])?["value"]
    }

    /// Puts files in an `<input type=file>`, as a user picking them does (the page sees `change`).
    public func setFiles(_ selector: String, _ paths: [String]) async throws {
        let document = try await send("DOM.getDocument")
        guard let root = (document["root"] as? [String: Any])?["nodeId"] else { throw Failure(description: "no document") }
        let node = try await send("DOM.querySelector", ["nodeId": root, "selector": selector])
        guard let nodeID = node["nodeId"] as? Int, nodeID != 0 else { throw Failure(description: "no element \(selector)") }
        _ = try await send("DOM.setFileInputFiles", ["nodeId": nodeID, "files": paths])
    }

    /// The page as a PNG, `width` CSS pixels wide and as tall as its content.
    public func screenshot(width: Int = 1100) async throws -> Data {
        let height = (try await evaluate("Math.ceil(document.documentElement.scrollHeight)") as? Int) ?? 900
        _ = try await send(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": min(height, 4000), "deviceScaleFactor": 1, "mobile": false]
        )
        let shot = try await send("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let text = shot["data"] as? String, let png = Data(base64Encoded: text) else { throw Failure(description: "no screenshot: \(shot)") }
        return png
    }

    /// Closes the browser and waits for it to exit.
    public func close() async {
        _ = try? await send("Browser.close", session: false)
        Glibc.close(commands)
        Glibc.close(messages)
        let pid = process
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == 0 {
                    kill(pid, SIGTERM)
                    waitpid(pid, &status, 0)
                }
                continuation.resume()
            }
        }
        try? FileManager.default.removeItem(at: profile)
    }

    // MARK: The protocol

    /// Sends a command and returns its result, keeping the events that arrive meanwhile.
    @discardableResult
    private func send(_ method: String, _ parameters: [String: Any] = [:], session useSession: Bool = true) async throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if useSession, let session { message["sessionId"] = session }
        let bytes = try [UInt8](JSONSerialization.data(withJSONObject: message)) + [0]
        try await blocking { try self.write(bytes) }
        while true {
            let answer = try await nextMessage()
            if answer["id"] as? Int == id {
                if let error = answer["error"] { throw Failure(description: "\(method): \(error)") }
                return answer["result"] as? [String: Any] ?? [:]
            }
            if answer["method"] != nil { events.append(answer) }
        }
    }

    /// Waits for an event, or takes it if it already came.
    private func event(_ method: String) async throws -> [String: Any] {
        while true {
            if let index = events.firstIndex(where: { $0["method"] as? String == method }) {
                return events.remove(at: index)
            }
            let message = try await nextMessage()
            if message["method"] != nil { events.append(message) }
        }
    }

    private func nextMessage() async throws -> [String: Any] {
        let bytes = try await blocking { try self.readMessage() }
        guard let message = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
        }
        return message
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.write(commands, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Failure(description: "the browser closed its pipe") }
            sent += count
        }
    }

    private func readMessage() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = received.firstIndex(of: 0) {
                let message = Array(received[..<end])
                received.removeSubrange(...end)
                return message
            }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(messages, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Failure(description: "the browser exited") }
            received += buffer[0..<count]
        }
    }

    private func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
