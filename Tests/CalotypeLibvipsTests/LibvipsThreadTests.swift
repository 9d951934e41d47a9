import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import NIOPosix
import TestSupport
import Testing

@Suite("libvips threads per job")
struct LibvipsThreadTests {
    @Test func aLoneJobTakesEveryCoreAndConcurrentJobsShareThem() {
        let share = LibvipsThreadShare(cores: 4, minimum: 1, adaptive: true)
        #expect(share.begin() == 4)
        #expect(share.begin() == 2)
        #expect(share.begin() == 1)
        share.end()
        share.end()
        share.end()
        #expect(share.begin() == 4, "finished jobs give their cores back")
        share.end()
        #expect(LibvipsThreadShare(cores: 2, minimum: 2, adaptive: true).threads(whileRunning: 5) == 2, "never below the minimum")
        let fixed = LibvipsThreadShare(cores: 4, minimum: 2, adaptive: false)
        #expect(fixed.begin() == 2 && fixed.begin() == 2)
    }

    /// libvips splits an image into regions per thread; the pixels must not
    /// depend on how many there are, alone or beside other jobs.
    @Test(arguments: [
        "width=800&format=jpeg&quality=80",
        "width=640&fast_shrink=false&blur=1.5&format=png",
        "width=500&height=500&fit=cover&rotate=90&format=webp",
        "width=700&flip=vertical&gamma=1.1&brightness=0.05&contrast=1.2&grayscale=true&format=png",
    ])
    func theThreadCountNeverChangesTheBytes(_ shorthand: String) async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 2400, height: 1600, seed: 7) }
        let input = ImageInput(bytes: photo, name: "synthetic.jpg")
        let recipe = try Recipe(shorthand: shorthand)
        let oneThread = try LibvipsBackend(configuration: .init(threadsPerJob: 1, adaptiveThreads: false), threadPool: .singleton)
        let spreading = try LibvipsBackend(configuration: .init(threadsPerJob: 1, adaptiveThreads: true, cores: 8), threadPool: .singleton)
        let reference = try await oneThread.process(input, recipe: recipe).bytes
        #expect(try await spreading.process(input, recipe: recipe).bytes == reference, "alone, on 8 threads")
        try await withThrowingTaskGroup(of: EncodedBytes.self) { group in
            for _ in 0..<4 {
                group.addTask { try await spreading.process(input, recipe: recipe).bytes }
            }
            for try await bytes in group {
                #expect(bytes == reference, "beside other jobs, on 8, 4 or 2 threads")
            }
        }
    }
}
