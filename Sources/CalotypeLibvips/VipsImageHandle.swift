import CVips
import CalotypeCore

/// Owns one reference to a `VipsImage` and releases it exactly once.
///
/// Handles are confined to the job that made them (one thread), so they are
/// deliberately not `Sendable`.
package final class VipsImageHandle {
    package let pointer: UnsafeMutablePointer<VipsImage>

    /// Takes ownership of a reference the caller holds.
    package init(owning pointer: UnsafeMutablePointer<VipsImage>) {
        self.pointer = pointer
    }

    deinit {
        g_object_unref(pointer)
    }

    package var width: Int { Int(vips_image_get_width(pointer)) }
    package var height: Int { Int(vips_image_get_height(pointer)) }
    package var bands: Int { Int(vips_image_get_bands(pointer)) }
    package var hasAlpha: Bool { vips_image_hasalpha(pointer) != 0 }
    package var interpretation: VipsInterpretation { vips_image_get_interpretation(pointer) }
    package var bandFormat: VipsBandFormat { vips_image_get_format(pointer) }
    /// The EXIF orientation, 1...8 (1 when absent).
    package var orientation: Int { Int(vips_image_get_orientation(pointer)) }
    /// Whether applying the orientation swaps width and height (5...8).
    package var orientationSwapsAxes: Bool { vips_image_get_orientation_swap(pointer) != 0 }
    package var hasICCProfile: Bool { has("icc-profile-data") }

    /// Whether the image carries metadata `field` (`exif-data`, `icc-profile-data`, ...).
    package func has(_ field: String) -> Bool { vips_image_get_typeof(pointer, field) != 0 }

    /// An integer field, or nil when the image has none.
    package func int(_ field: String) -> Int? {
        var value: Int32 = 0
        guard vips_image_get_typeof(pointer, field) != 0, vips_image_get_int(pointer, field, &value) == 0 else { return nil }
        return Int(value)
    }

    package func string(_ field: String) -> String? {
        var value: UnsafePointer<CChar>?
        guard vips_image_get_typeof(pointer, field) != 0, vips_image_get_string(pointer, field, &value) == 0, let value else {
            return nil
        }
        return String(cString: value)
    }

    /// Runs one libvips operation on this image and wraps its output, or
    /// throws with libvips' message. `stage` names the step for the error.
    package func apply(
        _ stage: String,
        failure code: ProcessingError.Code = .internal,
        _ operation: (UnsafeMutablePointer<VipsImage>, UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32
    ) throws(ProcessingError) -> VipsImageHandle {
        var output: UnsafeMutablePointer<VipsImage>?
        guard operation(pointer, &output) == 0, let output else {
            throw ProcessingError(code, "\(stage) failed", detail: LibvipsError.take())
        }
        return VipsImageHandle(owning: output)
    }

    /// The pixels rendered into memory, so that later steps may read them in
    /// any order. A sequentially-read (streamed) image must be copied before
    /// rotation or a vertical flip.
    /// `killSwitch` can stop the render from another thread.
    package func copiedToMemory(killSwitch: KillSwitch = KillSwitch()) throws(ProcessingError) -> VipsImageHandle {
        try killSwitch.watching(self) { () throws(ProcessingError) -> VipsImageHandle in
            guard let copy = vips_image_copy_memory(pointer) else {
                throw ProcessingError(.corrupt, "decoding failed", detail: LibvipsError.take())
            }
            return VipsImageHandle(owning: copy)
        }
    }

    /// Band-interleaved pixels, as the GPU upload and the tests read them.
    package func pixels() throws(ProcessingError) -> [UInt8] {
        var length = 0
        guard let memory = cv_write_to_memory(pointer, &length) else {
            throw ProcessingError(.corrupt, "decoding failed", detail: LibvipsError.take())
        }
        defer { g_free(memory) }
        return Array(UnsafeRawBufferPointer(start: memory, count: length))
    }
}
