import Foundation

/// The reduction of one axis by a Lanczos3 kernel, computed in double
/// precision exactly as libvips 8.14's `vips_reducev`/`vips_reduceh` compute
/// it with `vips_resize`'s `gap` of 2 (see shared/reference/libvips-8.14.md):
/// the box pre-shrink, the taps, the offset, and the 65 phases of fixed-point
/// coefficients. One arithmetic, several executors: the OpenCL kernels and
/// the CPU's SIMD horizontal pass (`LibvipsResize`) both take their tables
/// from here, so that both match libvips bit for bit.
package struct LanczosReduction: Equatable, Sendable {
    /// The box pre-shrink factor (1: none) and the length after it.
    package var box: Int
    package var boxedLength: Int
    /// The Lanczos step, absent when the box shrink did all the work.
    package var lanczos: Lanczos?
    package var outputLength: Int

    package struct Lanczos: Equatable, Sendable {
        package var taps: Int
        /// The shrink left after the box pre-shrink, and libvips' offset of
        /// the first output pixel's centre.
        package var shrink: Double
        package var offset: Double
        /// Two ints per output pixel: first input index, phase (0...64),
        /// with positions stepped from the start of the axis.
        package var positions: [Int32]
        /// 65 phases x `taps` coefficients: 2.6 fixed point (vertical) or
        /// 12-bit (horizontal).
        package var coefficients: [Int32]
    }

    package static let phases = 64

    /// The reduction of an axis of `length` pixels by `shrink` (>= 1).
    package init(length: Int, shrink: Double, vertical: Bool) {
        let outputLength = Int(Double(length) / shrink + 0.5)
        var extra = Double(outputLength) * shrink - Double(length)
        var shrink = shrink
        var box = max(1, Int((Double(length) / Double(outputLength) / 2.0).rounded(.down)))
        var boxedLength = length
        if box > 1 {
            boxedLength = Int((Double(length) / Double(box)).rounded(.up))
            shrink /= Double(box)
            extra /= Double(box)
        } else {
            box = 1
        }
        self.box = box
        self.boxedLength = boxedLength
        guard shrink != 1.0 else {
            lanczos = nil
            self.outputLength = boxedLength
            return
        }
        self.outputLength = outputLength
        let phases = Self.phases
        let taps = 2 * Int((3 * shrink).rounded(.toNearestOrEven)) + 1
        let offset = (1 + extra) / 2.0 - 1
        var coefficients: [Int32] = []
        coefficients.reserveCapacity((phases + 1) * taps)
        for phase in 0...phases {
            let weights = Self.lanczos3(taps: taps, shrink: shrink, x: Double(Float(phase) / Float(phases)))
            let fixed = vertical ? Self.toFixedPoint(weights, scale: 64) : weights.map { Int($0 * 4096) }
            coefficients += fixed.map { Int32($0) }
        }
        var positions: [Int32] = []
        positions.reserveCapacity(2 * outputLength)
        let half = (taps + 1) / 2 - 1
        // libvips steps the horizontal position by repeated addition along a
        // row and computes each row's vertical position afresh.
        var X = 0.5 * shrink - 0.5 - offset
        for p in 0..<outputLength {
            let P = vertical ? (Double(p) + 0.5) * shrink - 0.5 - offset : X
            let index = Int(P)
            let phase = ((Int(P * Double(phases * 2)) & (phases * 2 - 1)) + 1) >> 1
            positions.append(Int32(index - half))
            positions.append(Int32(phase))
            X += shrink
        }
        lanczos = Lanczos(taps: taps, shrink: shrink, offset: offset, positions: positions, coefficients: coefficients)
    }

    /// libvips' Lanczos3 weights for sub-pixel position `x`, normalised.
    package static func lanczos3(taps: Int, shrink: Double, x: Double) -> [Double] {
        let a = 3.0
        let half = x + Double(taps) / 2.0 - 1
        var weights = [Double](repeating: 0, count: taps)
        var sum = 0.0
        for i in 0..<taps {
            let xp = (Double(i) - half) / shrink
            let l: Double
            if xp == 0 {
                l = 1
            } else if xp < -a || xp > a {
                l = 0
            } else {
                l = a * sin(Double.pi * xp) * sin(Double.pi * xp / a) / (Double.pi * Double.pi * xp * xp)
            }
            weights[i] = l
            sum += l
        }
        return weights.map { $0 / sum }
    }

    /// libvips' conversion of a float mask to fixed point whose elements
    /// sum to exactly `rint(sum * scale)` (vips_vector_to_fixed_point).
    package static func toFixedPoint(_ weights: [Double], scale: Int) -> [Int] {
        let n = weights.count
        var fsum = 0.0
        for w in weights { fsum += w }
        let target = Int((fsum * Double(scale)).rounded(.toNearestOrEven))
        var high = Double(scale + (n + 1) / 2)
        var low = Double(scale - (n + 1) / 2)
        var out = [Int](repeating: 0, count: n)
        var sum = 0
        repeat {
            let guess = (high + low) / 2.0
            for i in 0..<n { out[i] = Int((weights[i] * guess).rounded(.toNearestOrEven)) }
            sum = out.reduce(0, +)
            if sum == target { break }
            if sum < target { low = guess }
            if sum > target { high = guess }
        } while high - low > 0.01
        if sum != target {
            let eachError = (target - sum) / n
            let extraError = (target - sum) % n
            let direction = extraError > 0 ? 1 : -1
            for i in 0..<n { out[i] += eachError }
            for i in 0..<abs(extraError) { out[i] += direction }
        }
        return out
    }
}
