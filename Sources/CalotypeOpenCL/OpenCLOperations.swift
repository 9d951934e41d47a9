import CalotypeCore

/// The operations the GPU runs: each has kernels that reproduce libvips'
/// arithmetic, proven equal sample for sample by `OpenCLEquivalenceTests`.
///
/// Opt-in: an operation added to the vocabulary is not here, so the GPU
/// declines recipes that use it and the scheduler runs them on the CPU,
/// until its kernels exist, are planned in `OpenCLPlan` and pass the
/// equivalence tests; then it is listed.
enum OpenCLOperations {
    /// What a ported operation needs of the device.
    enum Needs {
        case nothing
        /// Double precision (the colour-space arithmetic of grayscale and
        /// sharpen): devices without it leave these to the CPU.
        case doubles
    }

    static let ported: [OperationKind: Needs] = [
        .crop: .nothing,
        .resize: .nothing,
        .rotate: .nothing,
        .flip: .nothing,
        .blur: .nothing,
        .adjust: .nothing,
        .sharpen: .doubles,
        .grayscale: .doubles,
    ]

    /// The operations a device with (or without) doubles runs.
    static func supported(hasDoubles: Bool) -> Set<OperationKind> {
        Set(ported.filter { hasDoubles || $0.value == .nothing }.keys)
    }
}
