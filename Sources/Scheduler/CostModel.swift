/// How long a job takes on one lane: a fixed part plus a part per input
/// megapixel, learnt from the jobs that lane finishes.
///
/// An exponentially weighted least-squares fit of service seconds on
/// megapixels, so recent jobs count most and a lane that slows down (a busy
/// GPU, thermal limits) is noticed within a few jobs. The prior (from
/// calibration or defaults) counts as one observation's worth of evidence.
struct CostModel: Sendable {
    /// How much of the past each new observation keeps (0.9: the last ten
    /// jobs or so dominate).
    static let retention = 0.9

    private var weight = 0.0
    private var sumX = 0.0
    private var sumY = 0.0
    private var sumXX = 0.0
    private var sumXY = 0.0
    private(set) var observations = 0
    private let prior: (fixed: Double, perMegapixel: Double)

    init(fixedSeconds: Double, secondsPerMegapixel: Double) {
        prior = (fixedSeconds, secondsPerMegapixel)
    }

    mutating func observe(megapixels: Double, seconds: Double) {
        guard seconds.isFinite, seconds >= 0, megapixels.isFinite, megapixels >= 0 else { return }
        weight = weight * Self.retention + 1
        sumX = sumX * Self.retention + megapixels
        sumY = sumY * Self.retention + seconds
        sumXX = sumXX * Self.retention + megapixels * megapixels
        sumXY = sumXY * Self.retention + megapixels * seconds
        observations += 1
    }

    /// The fitted (fixed seconds, seconds per megapixel).
    var coefficients: (fixed: Double, perMegapixel: Double) {
        guard weight > 0 else { return prior }
        // Blend the prior in as one pseudo-observation at 1 megapixel and one at 4,
        // which keeps the fit defined while all jobs have had the same size.
        let priorWeight = 1.0 / max(weight, 1)
        let w = weight + 2 * priorWeight
        let x = sumX + priorWeight * (1 + 4)
        let y = sumY + priorWeight * (2 * prior.fixed + 5 * prior.perMegapixel)
        let xx = sumXX + priorWeight * (1 + 16)
        let xy = sumXY + priorWeight * (prior.fixed + prior.perMegapixel + 4 * (prior.fixed + 4 * prior.perMegapixel))
        let meanX = x / w
        let meanY = y / w
        let variance = xx / w - meanX * meanX
        guard variance > 1e-9 else { return (max(meanY - meanX * prior.perMegapixel, 0), prior.perMegapixel) }
        let slope = max((xy / w - meanX * meanY) / variance, 0)
        let intercept = max(meanY - slope * meanX, 0)
        return (intercept, slope)
    }

    /// Expected service time, in seconds, for an input of `megapixels`.
    func estimate(megapixels: Double) -> Double {
        let (fixed, perMegapixel) = coefficients
        return max(fixed + perMegapixel * megapixels, 1e-6)
    }
}
