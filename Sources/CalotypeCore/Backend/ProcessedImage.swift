/// A finished result: the encoded bytes and what a caller wants to know about them.
public struct ProcessedImage: Sendable {
    /// The encoder's own buffer where it can be (libvips'), copied once
    /// into whatever answers or stores it.
    public var bytes: EncodedBytes
    public var format: OutputFormat
    /// One frame's width and height (an animation's frames are all this size).
    public var width: Int
    public var height: Int
    /// Frames written: 1, or an animation's (GIF and WebP outputs keep them).
    public var frames: Int
    /// The format the input was decoded from.
    public var sourceFormat: SourceFormat
    /// The name of the backend that produced it.
    public var backend: String
    public var timings: StageTimings

    public init(
        bytes: EncodedBytes,
        format: OutputFormat,
        width: Int,
        height: Int,
        sourceFormat: SourceFormat,
        backend: String,
        timings: StageTimings,
        frames: Int = 1
    ) {
        self.frames = frames
        self.bytes = bytes
        self.format = format
        self.width = width
        self.height = height
        self.sourceFormat = sourceFormat
        self.backend = backend
        self.timings = timings
    }
}

/// Where a job's time went, for statistics and the scheduler's cost model.
///
/// libvips is demand-driven: pixels are decoded, processed and encoded in one
/// streamed pass when the output is written. The CPU backend therefore reports
/// reading the header and building the pipeline as `decode` and `process`, and
/// that single pass as `encode`. Backends that materialise stages (OpenCL:
/// decode, upload + kernels + download, encode) report each stage on its own.
public struct StageTimings: Sendable, Hashable {
    public var decode: Duration
    public var process: Duration
    public var encode: Duration

    public init(decode: Duration = .zero, process: Duration = .zero, encode: Duration = .zero) {
        self.decode = decode
        self.process = process
        self.encode = encode
    }

    public var total: Duration { decode + process + encode }
}
