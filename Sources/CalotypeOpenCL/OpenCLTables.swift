import CalotypeCore
import CalotypeLibvips
import Foundation

/// The coefficient tables the kernels use, computed on the host in double
/// precision exactly as libvips 8.14 computes them (see
/// shared/reference/libvips-8.14.md), so that the device only does integer
/// multiply-adds and the results match libvips bit for bit.
enum OpenCLTables {
    // The Lanczos3 reductions' tables come from `LanczosReduction`
    // (CalotypeLibvips), which the CPU's SIMD pass shares.

    // MARK: Gaussian blur (vips_gaussmat + vips_convsep, integer precision)

    /// libvips' separable integer Gaussian: `rint(20 exp(-x^2 / 2 sigma^2))`
    /// for the half-width where the amplitude stays above `minAmplitude`.
    static func gaussianMask(sigma: Double, minAmplitude: Double) -> [Int] {
        let sig2 = 2 * sigma * sigma
        let maxX = min(max(Int(8 * sigma), 0), 10000)
        var x = 0
        while x < maxX {
            if exp(-Double(x * x) / sig2) < minAmplitude { break }
            x += 1
        }
        let width = 2 * max(x - 1, 0) + 1
        return (0..<width).map { i in
            let xo = i - width / 2
            return Int((20 * exp(-Double(xo * xo) / sig2)).rounded(.toNearestOrEven))
        }
    }

    /// How libvips convolves an 8-bit image with `mask` along one axis.
    enum Convolution: Equatable {
        /// The vector path: 8-bit mantissas, shift before each add, final shift.
        case vector(mantissas: [Int], sexp: Int, exponent: Int)
        /// The C path: `(sum + scale/2) / scale`.
        case integer(mask: [Int], scale: Int)
    }

    /// The path libvips 8.14 takes for an 8-bit image of `bands` bands, and
    /// its constants (vips_convi_intize, and whether the vector program fits
    /// in libvips' 20 passes).
    static func convolution(mask: [Int], bands: Int, horizontal: Bool) -> Convolution {
        let scaleSum = Double(mask.reduce(0, +))
        let scale = scaleSum == 0 ? 1 : scaleSum
        let fallback = Convolution.integer(mask: mask, scale: Int(scale.rounded(.toNearestOrEven)))
        let n = mask.count
        let scaled = mask.map { Double($0) / scale }
        guard let mx = scaled.max() else { return fallback }
        let shift = Int(ceil(log2(mx) + 1))
        let sexp = Int(ceil(log2(Double(n))))
        guard sexp <= 10, sexp >= 1 else { return fallback }
        let exponent = 7 - shift - sexp
        guard exponent >= 1 else { return fallback }
        var mantissas: [Int] = []
        for value in scaled {
            let m = Int((128 * value * pow(2, Double(-shift))).rounded(.toNearestOrEven))
            guard m >= -128, m <= 127 else { return fallback }
            mantissas.append(m)
        }
        // libvips' accuracy check on a full-scale input.
        var trueSum = 0.0
        var intSum = 0
        for i in 0..<n {
            trueSum += 128 * scaled[i]
            var value = 128 * mantissas[i]
            value = (value + (1 << (sexp - 1))) >> sexp
            intSum = min(max(intSum + value, -32768), 32767)
        }
        let trueValue = Int(min(max(trueSum, 0), 255))
        let intValue = min(max((intSum + (1 << (exponent - 1))) >> exponent, 0), 255)
        guard abs(trueValue - intValue) <= 2 else { return fallback }
        guard vectorPasses(mantissas: mantissas, sexp: sexp, exponent: exponent, bands: bands, horizontal: horizontal) <= 20 else {
            return fallback
        }
        return .vector(mantissas: mantissas, sexp: sexp, exponent: exponent)
    }

    /// How many orc programs libvips splits the vector convolution into
    /// (each limited in constants, sources and instructions).
    static func vectorPasses(mantissas: [Int], sexp: Int, exponent: Int, bands: Int, horizontal: Bool) -> Int {
        struct Constant: Hashable {
            var value: Int
            var size: Int
        }
        let n = mantissas.count
        var passes = 0
        var i = 0
        while true {
            passes += 1
            if passes > 20 { return passes }
            var constants = Set<Constant>()
            var scanlines = Set<Int>()
            let sources = 1
            var instructions = 0
            let first = i
            if first == 0 { constants.insert(Constant(value: 1 << (exponent - 1), size: 2)) }
            instructions += 1
            var j = first
            while j < n {
                if mantissas[j] == 0 {
                    j += 1
                    continue
                }
                let x = horizontal ? j : 0
                let y = horizontal ? 0 : j
                scanlines.insert(y)
                if x == 0 {
                    instructions += 1
                } else {
                    constants.insert(Constant(value: bands * x, size: 1))
                    instructions += 2
                }
                constants.insert(Constant(value: mantissas[j], size: 2))
                instructions += 1
                constants.insert(Constant(value: sexp, size: 2))
                constants.insert(Constant(value: 1 << (sexp - 1), size: 2))
                instructions += 3
                let full = constants.count + 2 > 8 || sources + scanlines.count + 1 > 7 || instructions + 10 > 50
                if full { break }
                j += 1
            }
            i = j + 1
            if i >= n { return passes }
        }
    }

    // MARK: Sharpen (vips_sharpen with its defaults)

    /// The 65536-entry curve indexed by `L - blurred L + 32768`.
    static func sharpenCurve(x1: Double = 2, y2: Double = 10, y3: Double = 20, m1: Double = 0, m2: Double = 3) -> [Int32] {
        (0..<65536).map { i in
            let v = Double(i - 32767) / 327.67
            var y: Double
            if v < -x1 {
                y = (v + x1) * m2 + -x1 * m1
            } else if v < x1 {
                y = v * m1
            } else {
                y = (v - x1) * m2 + x1 * m1
            }
            if y < -y3 { y = -y3 }
            if y > y2 { y = y2 }
            return Int32((y * 327.67).rounded(.toNearestOrEven))
        }
    }

    // MARK: Colour

    /// sRGB 8-bit value to linear light, as libvips' float table.
    static let sRGBToLinear: [Float] = (0..<256).map { i in
        let f = Float(i) / Float(255)
        if Double(f) <= 0.04045 { return Float(Double(f) / 12.92) }
        return Float(pow((Double(f) + 0.055) / (1 + 0.055), 2.4))
    }

    /// Linear light to 8-bit sRGB, 257 entries (the last repeated) for
    /// libvips' piecewise-linear lookup.
    static let linearToSRGB: [Int32] = {
        var table: [Int32] = (0..<256).map { i in
            let f = Float(i) / Float(255)
            let v: Float
            if Double(f) <= 0.0031308 {
                v = Float(12.92 * Double(f))
            } else {
                v = Float((1.0 + 0.055) * pow(Double(f), 1.0 / 2.4) - 0.055)
            }
            return Int32((Float(255) * v).rounded(.toNearestOrEven))
        }
        table.append(table[255])
        return table
    }()

    /// libvips' cube-root table for XYZ to Lab (100000 entries).
    static let cubeRoot: [Float] = (0..<100_000).map { i in
        let y = Float(Double(i) / 100_000)
        if Double(y) < 0.008856 { return Float(7.787 * Double(y) + (16.0 / 116.0)) }
        return Float(cbrt(Double(y)))
    }
}
