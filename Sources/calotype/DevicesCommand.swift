import ArgumentParser
import Backends
import NIOPosix

/// `calotype devices`: what this machine can run and read and write.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the backends, devices and formats available on this machine."
    )

    func run() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        let backend: LibvipsBackend
        do {
            backend = try LibvipsBackend(threadPool: pool)
        } catch {
            print("libvips: unavailable (\(error))")
            throw ExitCode(1)
        }
        print("cpu: libvips \(backend.libraryVersion)")
        print("  reads:  jpeg, png, webp, gif, tiff, heif/avif (all other loaders are blocked)")
        let writable = [OutputFormat.jpeg, .png, .webp, .avif]
        let formats = writable.map { backend.writableFormats.contains($0) ? $0.rawValue : "\($0.rawValue) (not in this build)" }
        print("  writes: \(formats.joined(separator: ", "))")
        print("gpu: no OpenCL backend in this build yet")
    }
}
