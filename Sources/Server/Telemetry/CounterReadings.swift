import CoreMetrics
import NIOConcurrencyHelpers

/// A swift-metrics backend that keeps each counter's value where this
/// process can read it back: `/stats` reads the very increments that
/// Prometheus renders at `/metrics` (`Telemetry` records into both through
/// one `MultiplexMetricsHandler`), so the two can never disagree.
///
/// Only counters are kept; every other kind of metric is left to
/// Prometheus.
final class CounterReadings: MetricsFactory {
    /// A counter's name and its dimensions, in the order they were given.
    struct Key: Hashable, Sendable {
        let label: String
        let dimensions: [String]

        init(_ label: String, _ dimensions: [(String, String)]) {
            self.label = label
            self.dimensions = dimensions.flatMap { [$0.0, $0.1] }
        }
    }

    /// One counter's value. Counters made twice under one key share it, as
    /// Prometheus's do.
    final class Value: CounterHandler {
        private let count = NIOLockedValueBox<Int64>(0)

        func increment(by amount: Int64) {
            count.withLockedValue { $0 = $0.addingReportingOverflow(amount).overflow ? .max : $0 + amount }
        }

        func reset() { count.withLockedValue { $0 = 0 } }

        var value: Int64 { count.withLockedValue { $0 } }
    }

    private let counters = NIOLockedValueBox<[Key: Value]>([:])

    /// The value of the counter `label` with `dimensions`; 0 if none was made.
    func value(_ label: String, _ dimensions: [(String, String)]) -> Int64 {
        counters.withLockedValue { $0[Key(label, dimensions)] }?.value ?? 0
    }

    /// Every counter named `label` whose one dimension is `dimension`: its
    /// value by that dimension's value.
    func values(_ label: String, by dimension: String) -> [String: Int64] {
        let found = counters.withLockedValue { counters in
            counters.filter { $0.key.label == label && $0.key.dimensions.count == 2 && $0.key.dimensions[0] == dimension }
        }
        return Dictionary(found.map { ($0.key.dimensions[1], $0.value.value) }, uniquingKeysWith: +)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counters.withLockedValue { counters in
            let key = Key(label, dimensions)
            if let made = counters[key] { return made }
            let made = Value()
            counters[key] = made
            return made
        }
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        NOOPMetricsHandler.instance
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
