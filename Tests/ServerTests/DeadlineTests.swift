import Backends
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOPosix
import Scheduler
import Server
import Testing

@Suite("Deadlines that stop work", .timeLimit(.minutes(2)))
struct DeadlineTests {
    /// A recipe that runs for minutes is answered 504 at its deadline and its
    /// worker is free again: with one worker and a 2 s deadline (queue
    /// included), the ordinary request after it could not be served if the
    /// long job were still running. The 504 itself comes once the job has
    /// stopped: as one lazy graph this recipe noticed the kill flag 19 s late.
    @Test func aJobPastItsDeadlineStopsAndFreesItsWorker() async throws {
        let photo = try await NIOThreadPool.singleton.runIfActive { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 9) }
        let blurs = Array(repeating: #"{"op":"blur","sigma":100}"#, count: 16).joined(separator: ",")
        let engine = Engine.Configuration(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(2)), useGPU: false)
        try await withServer(engine: engine) { client, _ in
            var body = MultipartBody()
            body.addFile("file", filename: "deep.jpg", photo)
            body.addField("recipe", #"{"ops":[\#(blurs)],"format":"png"}"#)
            let sent = ContinuousClock.now
            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                let answered = ContinuousClock.now - sent
                #expect(answered < .seconds(12), "the job stopped \(answered - .seconds(2)) after its deadline")
                #expect(response.status == .gatewayTimeout)
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "deadline_exceeded")
            }
            var ordinary = MultipartBody()
            ordinary.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            try await client.execute(uri: "/process?width=64", method: .post, headers: ordinary.headers, body: ordinary.body) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
