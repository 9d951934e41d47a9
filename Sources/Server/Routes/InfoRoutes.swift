import Foundation
import Hummingbird
import Scheduler

extension CalotypeServer {
    /// `GET /metrics`: the Prometheus text exposition format (version 0.0.4);
    /// `GET /openapi.json`: the API's description; `GET /`: the web page.
    func addInfoRoutes(to router: Router<CalotypeRequestContext>) {
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        router.get("openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json(maxOperations: configuration.maxOperations))))
        }
        router.get("metrics") { _, _ -> Response in
            let text = PrometheusText.render(
                scheduler: await scheduler.statistics(), endpoints: await statistics.endpoints, memoryBudget: scheduler.memoryBudget)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}

/// Writes statistics as Prometheus metrics.
enum PrometheusText {
    static func render(scheduler: SchedulerStatistics, endpoints: [String: EndpointStatistics.Counts], memoryBudget: MemoryBudget) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples {
                text += "\(name)\(sample.labels.isEmpty ? "" : "{\(sample.labels)}") \(format(sample.value))\n"
            }
        }
        let byEndpoint = endpoints.sorted { $0.key < $1.key }
        func perEndpoint(_ value: (EndpointStatistics.Counts) -> Int) -> [(String, Double)] {
            byEndpoint.map { ("endpoint=\"\(escape($0.key))\"", Double(value($0.value))) }
        }
        family("calotype_http_requests_total", "counter", "Requests received, per endpoint.", perEndpoint(\.requests))
        family("calotype_images_total", "counter", "Images processed (successfully or not), per endpoint.", perEndpoint(\.images))
        family("calotype_image_failures_total", "counter", "Images that failed, per endpoint.", perEndpoint(\.failures))
        family("calotype_rejections_total", "counter", "Requests refused before processing (bad input, limits, overload), per endpoint.", perEndpoint(\.rejections))
        family("calotype_batch_items_cancelled_total", "counter", "Batch items not run because their client went away, per endpoint.", perEndpoint(\.cancelled))

        let lanes = scheduler.lanes
        func perLane(_ value: (LaneStatistics) -> Double) -> [(String, Double)] {
            lanes.map { ("lane=\"\(escape($0.name))\",kind=\"\($0.kind.rawValue)\"", value($0)) }
        }
        family("calotype_queue_depth", "gauge", "Jobs waiting for a worker, per lane.", perLane { Double($0.queued) })
        family("calotype_in_flight", "gauge", "Jobs running, per lane.", perLane { Double($0.running) })
        family("calotype_workers", "gauge", "Jobs a lane may run at once.", perLane { Double($0.workers) })
        family("calotype_lane_healthy", "gauge", "1 when the lane takes jobs, 0 while quarantined.", perLane { $0.healthy ? 1 : 0 })
        family("calotype_lane_busy_seconds_total", "counter", "Time the lane's workers spent on jobs.", perLane(\.busySeconds))
        var outcomes: [(String, Double)] = []
        for lane in lanes {
            let labels = "lane=\"\(escape(lane.name))\""
            for (outcome, value) in [("completed", lane.completed), ("failed", lane.failed), ("retried", lane.retried), ("rejected", lane.rejected), ("cancelled", lane.cancelled)] {
                outcomes.append(("\(labels),outcome=\"\(outcome)\"", Double(value)))
            }
        }
        family("calotype_jobs_total", "counter", "Jobs per lane and outcome.", outcomes)
        if memoryBudget.limit < .max {
            family("calotype_memory_budget_bytes", "gauge", "Bytes the work admitted at once may hold (CALOTYPE_MEMORY_BUDGET_MB).", [("", Double(memoryBudget.limit))])
        }
        family("calotype_memory_held_bytes", "gauge", "Bytes held now: request bodies plus the estimated decoded pixels of submitted jobs.", [("", Double(memoryBudget.used))])
        histogram("calotype_job_service_seconds", "Time from a worker taking a job to its result.", lanes.map { ($0.name, $0.serviceHistogram) }, into: &text)
        histogram("calotype_job_queue_wait_seconds", "Time a job waited for a worker.", lanes.map { ($0.name, $0.queueWaitHistogram) }, into: &text)
        return text
    }

    private static func histogram(_ name: String, _ help: String, _ series: [(lane: String, histogram: Histogram)], into text: inout String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (lane, histogram) in series {
            let labels = "lane=\"\(escape(lane))\""
            for (bound, count) in zip(Histogram.bounds, histogram.cumulativeCounts) {
                text += "\(name)_bucket{\(labels),le=\"\(format(bound))\"} \(count)\n"
            }
            text += "\(name)_bucket{\(labels),le=\"+Inf\"} \(histogram.count)\n"
            text += "\(name)_sum{\(labels)} \(format(histogram.sum))\n"
            text += "\(name)_count{\(labels)} \(histogram.count)\n"
        }
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Label values escape backslash, quote and newline.
    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
