import Foundation

/// A `multipart/form-data` body of image files, as a browser sends it.
struct MultipartBody: Sendable {
    let boundary = "calotype-bench-\(UUID().uuidString)"
    private(set) var bytes: [UInt8] = []

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// One part per image, all under the form field `field`, after the
    /// recipe as a JSON field when it is given that way.
    init(field: String, images: [BenchImages.Image], recipeJSON: String? = nil) {
        if let recipeJSON {
            bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"recipe\"\r\nContent-Type: application/json\r\n\r\n".utf8)
            bytes += Array(recipeJSON.utf8) + Array("\r\n".utf8)
        }
        for image in images {
            let name = image.name.replacingOccurrences(of: "\"", with: "_")
            bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(name)\"\r\n".utf8)
            bytes += Array("Content-Type: \(Self.mediaType(of: image.name))\r\n\r\n".utf8)
            bytes += image.bytes
            bytes += Array("\r\n".utf8)
        }
        bytes += Array("--\(boundary)--\r\n".utf8)
    }

    private static func mediaType(of name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "webp": "image/webp"
        case "gif": "image/gif"
        case "tif", "tiff": "image/tiff"
        case "heic", "heif": "image/heif"
        case "avif": "image/avif"
        default: "application/octet-stream"
        }
    }
}
