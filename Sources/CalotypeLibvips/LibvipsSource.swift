import CVips
import CalotypeCore
import Foundation

/// An encoded input, sniffed and its header read, checked against the limits
/// before a single pixel is decoded.
///
/// Holds a pointer into the caller's bytes: libvips does not copy its input,
/// so a `LibvipsSource` and every image made from it must not outlive the
/// `withUnsafeBytes` call that produced the buffer.
package struct LibvipsSource {
    package let buffer: UnsafeRawBufferPointer
    package let format: SourceFormat
    /// The header-only image (lazy: nothing is decoded yet).
    package let header: VipsImageHandle

    /// The loader's `fail_on`: libvips stops at the first damage the policy
    /// refuses instead of decoding garbage or filling the rest with grey;
    /// the error surfaces when pixels are computed.
    package let loaderOptions: String

    /// `failOn` (a recipe's `fail_on`) overrides the limits' policy.
    package init(_ buffer: UnsafeRawBufferPointer, name: String?, limits: ImageLimits, failOn: DamagedInput? = nil) throws(ProcessingError) {
        let loaderOptions = (failOn ?? limits.failOn).loaderOption
        _ = try LibvipsRuntime.shared()  // libvips is started, whoever calls first.
        let label = name.map { "'\($0)'" } ?? "the input"
        guard !buffer.isEmpty, let base = buffer.baseAddress else {
            throw ProcessingError(.corrupt, "\(label) is empty")
        }
        guard buffer.count <= limits.maxBytes else {
            throw ProcessingError(.tooLarge, "\(label) is \(buffer.count) bytes; the limit is \(limits.maxBytes)")
        }
        guard let loaderName = vips_foreign_find_load_buffer(base, buffer.count).map({ String(cString: $0) }) else {
            _ = LibvipsError.take()
            throw ProcessingError(.unsupportedFormat, "\(label) is not an image in an accepted format (JPEG, PNG, WebP, GIF, TIFF, HEIF/AVIF)")
        }
        guard let format = Self.format(ofLoader: loaderName) else {
            throw ProcessingError(
                .unsupportedFormat,
                "\(label) is \(Self.describe(loaderName)), which is not an accepted input (JPEG, PNG, WebP, GIF, TIFF, HEIF/AVIF)"
            )
        }
        if format == .jpeg {
            let scans = JPEGScans.count(buffer, stoppingAfter: limits.maxJPEGScans)
            guard scans <= limits.maxJPEGScans else {
                throw ProcessingError(
                    .tooLarge,
                    "\(label) is a JPEG of more than \(limits.maxJPEGScans) scans, the limit: each scan is a pass over the whole image"
                )
            }
        }
        guard let pointer = cv_image_new_from_buffer(base, buffer.count, loaderOptions, VIPS_ACCESS_SEQUENTIAL) else {
            throw ProcessingError(.corrupt, "\(label) could not be read as \(format.rawValue)", detail: LibvipsError.take())
        }
        let header = VipsImageHandle(owning: pointer)
        try limits.checkDeclared(width: header.width, height: header.height, label: label)
        self.buffer = buffer
        self.header = header
        self.loaderOptions = loaderOptions
        if format == .heif, header.string("heif-compression") == "av1" {
            self.format = .avif
        } else {
            self.format = format
        }
    }

    /// Pages (an animation's frames) the header declares; 1 for most images.
    package var pageCount: Int { max(header.int("n-pages") ?? 1, 1) }

    /// The width and height as people see the image: after EXIF orientation
    /// when `autorotate` applies it.
    package func displaySize(autorotate: Bool) -> (width: Int, height: Int) {
        autorotate && header.orientationSwapsAxes ? (header.height, header.width) : (header.width, header.height)
    }

    /// Opens the image for decoding. `options` adds loader options such as a
    /// shrink factor (`shrink=4` for JPEG, `scale=0.25` for WebP).
    package func open(access: VipsAccess, options: String = "") throws(ProcessingError) -> VipsImageHandle {
        let all = options.isEmpty ? loaderOptions : "\(loaderOptions),\(options)"
        guard let pointer = cv_image_new_from_buffer(buffer.baseAddress, buffer.count, all, access) else {
            throw ProcessingError(.corrupt, "the \(format.rawValue) data could not be opened", detail: LibvipsError.take())
        }
        return VipsImageHandle(owning: pointer)
    }

    private static func format(ofLoader loader: String) -> SourceFormat? {
        let table: [(String, SourceFormat)] = [
            ("jpeg", .jpeg), ("png", .png), ("webp", .webp), ("gif", .gif), ("tiff", .tiff), ("heif", .heif),
        ]
        let name = loader.lowercased()
        return table.first { name.contains($0.0) }?.1
    }

    /// "VipsForeignLoadPdfBuffer" -> "PDF".
    private static func describe(_ loader: String) -> String {
        var name = loader
        for affix in ["VipsForeignLoad", "Buffer", "Source", "File"] {
            name = name.replacingOccurrences(of: affix, with: "")
        }
        return name.isEmpty ? "an unknown format" : name.uppercased()
    }
}
