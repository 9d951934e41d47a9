/// JPEGs with damaged entropy-coded data and intact headers, as a flaky
/// disk or a bad transfer leaves them.
public enum DamagedJPEG {
    /// `jpeg` with `count` bytes after its first scan header inverted, at
    /// the same places every run.
    public static func flipped(_ jpeg: [UInt8], count: Int = 2000, seed: UInt64 = 7) -> [UInt8] {
        var bytes = jpeg
        let scanStart = (0..<max(bytes.count - 1, 0)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA } ?? 600
        let first = scanStart + 200
        guard first < bytes.count - 2 else { return bytes }
        var state = seed
        for _ in 0..<count {
            // SplitMix64: deterministic and well spread.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            bytes[first + Int(z % UInt64(bytes.count - 2 - first))] ^= 0xFF
        }
        return bytes
    }
}
