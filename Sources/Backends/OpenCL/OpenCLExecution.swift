import COpenCL

extension OpenCLPlan {
    /// Bytes of device memory the plan needs at once.
    var deviceBytes: Int { 2 * largestImage + 3 * largestScratch + table.count * 4 }

    /// Refuses, before anything is allocated, a plan that cannot fit the
    /// device: the job should go to the CPU instead.
    func checkFits(_ device: OpenCLDevice) throws(ProcessingError) {
        let largest = max(largestImage, largestScratch, table.count * 4)
        if largest > device.maxBufferBytes {
            throw ProcessingError(
                .unsupportedByBackend,
                "the image needs a \(largest)-byte device buffer; \(device.info.name) allows at most \(device.maxBufferBytes)")
        }
        if deviceBytes > device.info.globalMemory {
            throw ProcessingError(
                .unsupportedByBackend,
                "the image needs \(deviceBytes) bytes of device memory; \(device.info.name) has \(device.info.globalMemory)")
        }
    }

    /// Uploads `pixels` (the plan's input shape), runs every step on one
    /// worker's queue and reads the result back: one crossing each way.
    func run(_ pixels: [UInt8], on device: OpenCLDevice) throws(ProcessingError) -> [UInt8] {
        try checkFits(device)
        return try device.withWorker { worker throws(ProcessingError) in
            var leased: [CLBuffer] = []
            defer {
                worker.finish()
                device.pool.giveBack(leased)
            }
            do throws(OpenCLFailure) {
                let limit = device.maxBufferBytes
                func lease(_ bytes: Int) throws(OpenCLFailure) -> CLBuffer {
                    let buffer = try device.pool.lease(max(bytes, 1), limit: limit)
                    leased.append(buffer)
                    return buffer
                }
                var source = try lease(largestImage)
                var destination = try lease(largestImage)
                let tableBuffer = table.isEmpty ? nil : try lease(table.count * 4)
                var scratch: [CLBuffer] = []
                if largestScratch > 0 {
                    for _ in 0..<3 { scratch.append(try lease(largestScratch)) }
                }
                try worker.write(pixels, to: source)
                if let tableBuffer { try worker.write(table, to: tableBuffer) }
                for step in steps {
                    for launch in step.launches {
                        var arguments: [OpenCLWorker.Argument] = []
                        for argument in launch.arguments {
                            switch argument {
                            case .int(let value): arguments.append(.int(value))
                            case .int4(let a, let b, let c, let d): arguments.append(.int4(a, b, c, d))
                            case .buffer(let which):
                                let buffer: CLBuffer
                                switch which {
                                case .source: buffer = source
                                case .destination: buffer = destination
                                case .table:
                                    guard let tableBuffer else { throw OpenCLFailure(call: "plan (no table)", status: CL_INVALID_MEM_OBJECT) }
                                    buffer = tableBuffer
                                case .scratch(let index):
                                    guard index < scratch.count else { throw OpenCLFailure(call: "plan (no scratch)", status: CL_INVALID_MEM_OBJECT) }
                                    buffer = scratch[index]
                                case .sRGBToLinear, .linearToSRGB, .cubeRoot:
                                    guard let tables = device.colourTables else {
                                        throw OpenCLFailure(call: "plan (no colour tables)", status: CL_INVALID_MEM_OBJECT)
                                    }
                                    buffer = which.colourTable(in: tables)
                                }
                                arguments.append(.buffer(buffer))
                            }
                        }
                        try worker.launch(launch.kernel, width: launch.width, height: launch.height, arguments)
                    }
                    swap(&source, &destination)
                }
                return try worker.read(source, count: shape.bytes)
            } catch {
                throw error.processingError("processing on \(device.info.name)")
            }
        }
    }
}

extension OpenCLPlan.Buffer {
    fileprivate func colourTable(in tables: OpenCLDevice.ColourTables) -> CLBuffer {
        switch self {
        case .sRGBToLinear: tables.sRGBToLinear
        case .linearToSRGB: tables.linearToSRGB
        default: tables.cubeRoot
        }
    }
}
