import CalotypeCore
import Foundation

extension Engine.Configuration {
    /// The watermark file's bytes: a regular file of at most
    /// `WatermarkImage.maxBytes`, read once at start (a path to a device or
    /// a huge file is refused, not read whole).
    static func watermark(at path: String) throws(ConfigurationError) -> WatermarkImage {
        func refused(_ why: String) -> ConfigurationError {
            ConfigurationError(variable: "CALOTYPE_WATERMARK_PATH", value: path, allowed: why)
        }
        let url = URL(fileURLWithPath: path)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            attributes[.type] as? FileAttributeType == .typeRegular
        else { throw refused("a readable image file") }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? Int.max
        guard size > 0, size <= WatermarkImage.maxBytes else { throw refused("an image file of at most \(WatermarkImage.maxBytes >> 20) MiB") }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw refused("a readable image file") }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: WatermarkImage.maxBytes + 1), data.count <= WatermarkImage.maxBytes else {
            throw refused("an image file of at most \(WatermarkImage.maxBytes >> 20) MiB")
        }
        return WatermarkImage(bytes: [UInt8](data), name: url.lastPathComponent)
    }
}
