import CalotypeCore
import CalotypeLibvips

/// The device's share of one job: the kernel launches that turn the
/// uploaded pixels into the result, the table data they read (uploaded
/// once) and the buffer sizes they need. Built on the host, step by step,
/// from the image's size, before anything is sent to the device.
struct OpenCLPlan {
    struct Shape: Equatable {
        var width: Int
        var height: Int
        var bands: Int
        var bytes: Int { width * height * bands }
        var hasAlpha: Bool { bands == 2 || bands == 4 }
        var colourBands: Int { hasAlpha ? bands - 1 : bands }
    }

    enum Buffer {
        /// The current image and the next one (swapped after each step).
        case source, destination
        case table
        case scratch(Int)
        case sRGBToLinear, linearToSRGB, cubeRoot, sharpenCurve
    }

    enum Argument {
        case buffer(Buffer)
        case int(Int)
        case int4(Int, Int, Int, Int)
    }

    struct Launch {
        var kernel: String
        var width: Int
        var height: Int
        var arguments: [Argument]
    }

    struct Step {
        var name: String
        var launches: [Launch]
        var output: Shape
    }

    let input: Shape
    private(set) var shape: Shape
    private(set) var steps: [Step] = []
    private(set) var table: [Int32] = []
    private(set) var largestImage: Int
    /// Bytes of each of the scratch buffers sharpen needs (0: none).
    private(set) var largestScratch = 0
    let hasDoubles: Bool

    init(width: Int, height: Int, bands: Int, hasDoubles: Bool) {
        input = Shape(width: width, height: height, bands: bands)
        shape = input
        largestImage = input.bytes
        self.hasDoubles = hasDoubles
    }

    var kernelNames: [String] { steps.flatMap { $0.launches.map(\.kernel) } }

    private mutating func append(_ values: [Int32]) -> Int {
        let offset = table.count
        table += values
        return offset
    }

    private mutating func add(_ name: String, _ launches: [Launch], output: Shape) {
        steps.append(Step(name: name, launches: launches, output: output))
        shape = output
        largestImage = max(largestImage, output.bytes)
    }

    /// Work-items for kernels that take runs of 16 samples of a row.
    static func runs(_ shape: Shape) -> Int { (shape.width * shape.bands + 15) / 16 }

    // MARK: Geometry

    /// out(x, y) = in(ax x + bx y + cx, ay x + by y + cy).
    private mutating func remap(_ name: String, width: Int, height: Int, _ ax: Int, _ bx: Int, _ cx: Int, _ ay: Int, _ by: Int, _ cy: Int) {
        let output = Shape(width: width, height: height, bands: shape.bands)
        let launch = Launch(
            kernel: "remap",
            width: width,
            height: height,
            arguments: [
                .buffer(.source), .buffer(.destination), .int(shape.width), .int(width), .int(height), .int(shape.bands),
                .int(ax), .int(bx), .int(cx), .int(ay), .int(by), .int(cy),
            ]
        )
        add(name, [launch], output: output)
    }

    mutating func crop(x: Int, y: Int, width: Int, height: Int) {
        guard x != 0 || y != 0 || width != shape.width || height != shape.height else { return }
        remap("crop", width: width, height: height, 1, 0, x, 0, 1, y)
    }

    /// Clockwise by 90, 180 or 270 degrees.
    mutating func rotate(_ angle: Int) {
        let (w, h) = (shape.width, shape.height)
        switch angle {
        case 90: remap("rotate 90", width: h, height: w, 0, 1, 0, -1, 0, h - 1)
        case 180: remap("rotate 180", width: w, height: h, -1, 0, w - 1, 0, -1, h - 1)
        case 270: remap("rotate 270", width: h, height: w, 0, -1, w - 1, 1, 0, 0)
        default: break
        }
    }

    mutating func flip(horizontal: Bool) {
        let (w, h) = (shape.width, shape.height)
        if horizontal {
            remap("flip", width: w, height: h, -1, 0, w - 1, 0, 1, 0)
        } else {
            remap("flip", width: w, height: h, 1, 0, 0, 0, -1, h - 1)
        }
    }

    /// EXIF orientation 2...8, as `vips_autorot`: rotate, then mirror.
    mutating func orient(_ orientation: Int) {
        switch orientation {
        case 2: flip(horizontal: true)
        case 3: rotate(180)
        case 4:
            rotate(180)
            flip(horizontal: true)
        case 5:
            rotate(90)
            flip(horizontal: true)
        case 6: rotate(90)
        case 7:
            rotate(270)
            flip(horizontal: true)
        case 8: rotate(270)
        default: break
        }
    }

    /// `vips_smartcrop` with centre gravity.
    mutating func centreCrop(width: Int, height: Int) {
        let w = min(width, shape.width)
        let h = min(height, shape.height)
        crop(x: (shape.width - w) / 2, y: (shape.height - h) / 2, width: w, height: h)
    }

    /// `contain`'s padding: centred on a canvas of `colour` (with an alpha
    /// band added when the colour is translucent), as the CPU backend.
    mutating func pad(toWidth width: Int, height: Int, colour: Colour) {
        guard width != shape.width || height != shape.height else { return }
        var bands = shape.bands
        if colour.alpha < 255 && !shape.hasAlpha { bands += 1 }
        let alpha = bands == 2 || bands == 4
        let values = LibvipsPipeline.bandValues(of: colour, bands: bands, alpha: alpha).map { Int($0) } + [0, 0, 0, 0]
        let output = Shape(width: width, height: height, bands: bands)
        let launch = Launch(
            kernel: "embed",
            width: width,
            height: height,
            arguments: [
                .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(shape.bands),
                .int(width), .int(height), .int(bands), .int((width - shape.width) / 2), .int((height - shape.height) / 2),
                .int4(values[0], values[1], values[2], values[3]),
            ]
        )
        add("contain padding", [launch], output: output)
    }

    // MARK: Resize

    /// `vips_resize(hscale, vscale)` for downsizing: box pre-shrink and
    /// Lanczos3, vertical then horizontal. Upsizing is not ported.
    mutating func resize(horizontalScale: Double, verticalScale: Double) throws(ProcessingError) {
        let hscale = max(horizontalScale, 1.0 / Double(shape.width))
        let vscale = max(verticalScale, 1.0 / Double(shape.height))
        guard hscale <= 1, vscale <= 1 else {
            throw ProcessingError(.unsupportedByBackend, "the OpenCL backend does not enlarge images; the CPU backend does")
        }
        if vscale < 1 {
            let reduction = LanczosReduction(length: shape.height, shrink: 1.0 / vscale, vertical: true)
            if reduction.box > 1 {
                let output = Shape(width: shape.width, height: reduction.boxedLength, bands: shape.bands)
                add(
                    "box shrink",
                    [
                        Launch(
                            kernel: "box_v",
                            width: Self.runs(output),
                            height: output.height,
                            arguments: [
                                .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(output.height),
                                .int(shape.bands), .int(reduction.box),
                            ]
                        )
                    ],
                    output: output
                )
            }
            if let lanczos = reduction.lanczos {
                let positions = append(lanczos.positions)
                let coefficients = append(lanczos.coefficients)
                let output = Shape(width: shape.width, height: reduction.outputLength, bands: shape.bands)
                add(
                    "lanczos",
                    [
                        Launch(
                            kernel: "reduce_v",
                            width: Self.runs(output),
                            height: output.height,
                            arguments: [
                                .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(output.height),
                                .int(shape.bands), .int(lanczos.taps), .buffer(.table), .int(positions), .int(coefficients),
                            ]
                        )
                    ],
                    output: output
                )
            }
        }
        if hscale < 1 {
            let reduction = LanczosReduction(length: shape.width, shrink: 1.0 / hscale, vertical: false)
            if reduction.box > 1 {
                let output = Shape(width: reduction.boxedLength, height: shape.height, bands: shape.bands)
                add(
                    "box shrink",
                    [
                        Launch(
                            kernel: "box_h",
                            width: output.width,
                            height: output.height,
                            arguments: [
                                .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(output.width),
                                .int(shape.bands), .int(reduction.box),
                            ]
                        )
                    ],
                    output: output
                )
            }
            if let lanczos = reduction.lanczos {
                let positions = append(lanczos.positions)
                let coefficients = append(lanczos.coefficients)
                let output = Shape(width: reduction.outputLength, height: shape.height, bands: shape.bands)
                add(
                    "lanczos",
                    [
                        Launch(
                            kernel: "reduce_h",
                            width: output.width,
                            height: output.height,
                            arguments: [
                                .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(output.width),
                                .int(shape.bands), .int(lanczos.taps), .buffer(.table), .int(positions), .int(coefficients),
                            ]
                        )
                    ],
                    output: output
                )
            }
        }
    }

    // MARK: Filters

    /// `vips_gaussblur(sigma)`: the integer mask, horizontal then vertical.
    mutating func blur(sigma: Double) {
        guard sigma >= 0.2 else { return }
        let mask = OpenCLTables.gaussianMask(sigma: sigma, minAmplitude: 0.2)
        guard mask.count > 1 else { return }
        for horizontal in [true, false] {
            let convolution = OpenCLTables.convolution(mask: mask, bands: shape.bands, horizontal: horizontal)
            // One work-item per run of 16 samples (see the kernels).
            let samples = (shape.width * shape.bands + 15) / 16
            let common: [Argument] = [
                .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(shape.bands),
                .int(mask.count), .int(horizontal ? 1 : 0), .buffer(.table),
            ]
            let launch: Launch
            switch convolution {
            case .vector(let mantissas, let sexp, let exponent):
                let offset = append(mantissas.map { Int32($0) })
                launch = Launch(
                    kernel: "conv_vector",
                    width: samples,
                    height: shape.height,
                    arguments: common + [.int(offset), .int(sexp), .int(exponent)]
                )
            case .integer(let coefficients, let scale):
                let offset = append(coefficients.map { Int32($0) })
                launch = Launch(
                    kernel: "conv_int",
                    width: samples,
                    height: shape.height,
                    arguments: common + [.int(offset), .int(scale)]
                )
            }
            add("blur", [launch], output: shape)
        }
    }

    /// `vips_sharpen(sigma)` with its default curve, on LabS lightness.
    mutating func sharpen(sigma: Double) throws(ProcessingError) {
        guard hasDoubles else {
            throw ProcessingError(.unsupportedByBackend, "sharpen needs double precision, which this OpenCL device lacks")
        }
        let mask = OpenCLTables.gaussianMask(sigma: sigma, minAmplitude: 0.1)
        let scaleSum = mask.reduce(0, +)
        let scale = scaleSum == 0 ? 1 : scaleSum
        let coefficients = append(mask.map { Int32($0) })
        let (w, h, bands) = (shape.width, shape.height, shape.bands)
        let colourBands = shape.colourBands >= 3 ? 3 : 1
        largestScratch = max(largestScratch, w * h * 2)
        let launches = [
            Launch(
                kernel: "sharpen_lightness",
                width: w,
                height: h,
                arguments: [
                    .buffer(.source), .buffer(.scratch(0)), .buffer(.scratch(3)), .buffer(.scratch(4)),
                    .int(w), .int(h), .int(bands), .int(colourBands),
                    .buffer(.sRGBToLinear), .buffer(.cubeRoot),
                ]
            ),
            Launch(
                kernel: "conv_short",
                width: (w + 15) / 16,
                height: h,
                arguments: [
                    .buffer(.scratch(0)), .buffer(.scratch(1)), .int(w), .int(h), .int(mask.count), .int(1),
                    .buffer(.table), .int(coefficients), .int(scale),
                ]
            ),
            Launch(
                kernel: "conv_short",
                width: (w + 15) / 16,
                height: h,
                arguments: [
                    .buffer(.scratch(1)), .buffer(.scratch(2)), .int(w), .int(h), .int(mask.count), .int(0),
                    .buffer(.table), .int(coefficients), .int(scale),
                ]
            ),
            Launch(
                kernel: "sharpen_apply",
                width: w,
                height: h,
                arguments: [
                    .buffer(.source), .buffer(.scratch(0)), .buffer(.scratch(3)), .buffer(.scratch(4)), .buffer(.scratch(2)),
                    .buffer(.destination), .int(w), .int(h), .int(bands), .int(colourBands),
                    .buffer(.linearToSRGB), .buffer(.sharpenCurve),
                ]
            ),
        ]
        add("sharpen", launches, output: shape)
    }

    /// Sharpen's planes of shorts: L, its two blur passes, a and b.
    static let scratchBuffers = 5

    /// libvips' `B_W`: sRGB(A) to grey(A); grey stays as it is.
    mutating func grayscale() throws(ProcessingError) {
        guard shape.bands >= 3 else { return }
        guard hasDoubles else {
            throw ProcessingError(.unsupportedByBackend, "grayscale needs double precision, which this OpenCL device lacks")
        }
        let output = Shape(width: shape.width, height: shape.height, bands: shape.bands - 2)
        add(
            "grayscale",
            [
                Launch(
                    kernel: "grey",
                    width: shape.width,
                    height: shape.height,
                    arguments: [
                        .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(shape.bands),
                        .buffer(.sRGBToLinear), .buffer(.linearToSRGB),
                    ]
                )
            ],
            output: output
        )
    }

    /// The adjustment table on the colour bands.
    mutating func adjust(_ lookupTable: [UInt8]) {
        let offset = append(lookupTable.map { Int32($0) })
        add(
            "adjust",
            [
                Launch(
                    kernel: "lookup",
                    width: shape.width,
                    height: shape.height,
                    arguments: [
                        .buffer(.source), .buffer(.destination), .int(shape.width), .int(shape.height), .int(shape.bands),
                        .int(shape.colourBands), .buffer(.table), .int(offset),
                    ]
                )
            ],
            output: shape
        )
    }
}
