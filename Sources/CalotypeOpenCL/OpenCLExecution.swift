import COpenCL
import CalotypeCore
import CalotypeLibvips

extension OpenCLPlan {
    /// Bytes of device memory the plan needs at once.
    var deviceBytes: Int { 2 * largestImage + Self.scratchBuffers * largestScratch + table.count * 4 }

    /// Refuses, before anything is allocated, a plan that cannot fit the
    /// device: the job should go to the CPU instead.
    func checkFits(_ device: OpenCLDevice) throws(ProcessingError) {
        let largest = max(largestImage, largestScratch, table.count * 4)
        if largest > device.maxBufferBytes {
            throw ProcessingError(
                .unsupportedByBackend,
                "the image needs a \(largest)-byte device buffer; \(device.info.name) allows at most \(device.maxBufferBytes)"
            )
        }
        if deviceBytes > device.info.globalMemory {
            throw ProcessingError(
                .unsupportedByBackend,
                "the image needs \(deviceBytes) bytes of device memory; \(device.info.name) has \(device.info.globalMemory)"
            )
        }
    }

    /// Runs the plan on one of the device's workers: `upload` fills the
    /// mapped input buffer (the plan's input shape), every step runs on the
    /// worker's queue, and `consume` reads the mapped result: the pixels
    /// cross once each way, through mapped (pinnable) memory.
    func run<T>(
        on device: OpenCLDevice,
        upload: (UnsafeMutableRawBufferPointer) throws(ProcessingError) -> Void,
        consume: (UnsafeRawBufferPointer) throws(ProcessingError) -> T
    ) throws(ProcessingError) -> T {
        try checkFits(device)
        return try device.withWorker { worker throws(ProcessingError) in
            var leased: [CLBuffer] = []
            defer {
                worker.finish()
                device.pool.giveBack(leased)
            }
            let stage = "processing on \(device.info.name)"
            func lease(_ bytes: Int) throws(ProcessingError) -> CLBuffer {
                do throws(OpenCLFailure) {
                    let buffer = try device.pool.lease(max(bytes, 1), limit: device.maxBufferBytes)
                    leased.append(buffer)
                    return buffer
                } catch {
                    throw error.processingError(stage)
                }
            }
            var source = try lease(largestImage)
            var destination = try lease(largestImage)
            let tableBuffer = table.isEmpty ? nil : try lease(table.count * 4)
            var scratch: [CLBuffer] = []
            if largestScratch > 0 {
                for _ in 0..<Self.scratchBuffers { scratch.append(try lease(largestScratch)) }
            }

            let input: UnsafeMutableRawPointer
            do throws(OpenCLFailure) { input = try worker.map(source, count: self.input.bytes, forWriting: true) } catch {
                throw error.processingError(stage)
            }
            var uploaded: ProcessingError?
            do throws(ProcessingError) {
                try upload(UnsafeMutableRawBufferPointer(start: input, count: self.input.bytes))
            } catch {
                uploaded = error
            }
            do throws(OpenCLFailure) { try worker.unmap(source, input) } catch { throw error.processingError(stage) }
            if let uploaded { throw uploaded }

            do throws(OpenCLFailure) {
                if let tableBuffer { try worker.write(table, to: tableBuffer) }
                for step in steps {
                    for launch in step.launches {
                        let arguments = try launch.arguments.map { argument throws(OpenCLFailure) -> OpenCLWorker.Argument in
                            switch argument {
                            case .int(let value): return .int(value)
                            case .int4(let a, let b, let c, let d): return .int4(a, b, c, d)
                            case .buffer(let which):
                                switch which {
                                case .source: return .buffer(source)
                                case .destination: return .buffer(destination)
                                case .table:
                                    guard let tableBuffer else { throw OpenCLFailure(call: "plan (no table)", status: CL_INVALID_MEM_OBJECT) }
                                    return .buffer(tableBuffer)
                                case .scratch(let index):
                                    guard index < scratch.count else { throw OpenCLFailure(call: "plan (no scratch)", status: CL_INVALID_MEM_OBJECT) }
                                    return .buffer(scratch[index])
                                case .sRGBToLinear, .linearToSRGB, .cubeRoot, .sharpenCurve:
                                    guard let tables = device.colourTables else {
                                        throw OpenCLFailure(call: "plan (no colour tables)", status: CL_INVALID_MEM_OBJECT)
                                    }
                                    return .buffer(which.colourTable(in: tables))
                                }
                            }
                        }
                        try worker.launch(launch.kernel, width: launch.width, height: launch.height, arguments)
                    }
                    swap(&source, &destination)
                }
            } catch {
                throw error.processingError(stage)
            }

            let output: UnsafeMutableRawPointer
            do throws(OpenCLFailure) { output = try worker.map(source, count: shape.bytes, forWriting: false) } catch {
                throw error.processingError(stage)
            }
            defer { try? worker.unmap(source, output) }
            return try consume(UnsafeRawBufferPointer(start: output, count: shape.bytes))
        }
    }

    /// The plan run on `pixels`, returning the result's pixels (for the
    /// start-up self-check and tests).
    func run(_ pixels: [UInt8], on device: OpenCLDevice) throws(ProcessingError) -> [UInt8] {
        try run(
            on: device,
            upload: { buffer throws(ProcessingError) in
                guard pixels.count == buffer.count else {
                    throw ProcessingError(.internal, "\(pixels.count) bytes for a \(buffer.count)-byte input")
                }
                pixels.withUnsafeBytes { buffer.copyMemory(from: $0) }
            },
            consume: { Array($0) }
        )
    }
}

extension OpenCLPlan.Buffer {
    fileprivate func colourTable(in tables: OpenCLDevice.ColourTables) -> CLBuffer {
        switch self {
        case .sRGBToLinear: tables.sRGBToLinear
        case .linearToSRGB: tables.linearToSRGB
        case .sharpenCurve: tables.sharpenCurve
        default: tables.cubeRoot
        }
    }
}
