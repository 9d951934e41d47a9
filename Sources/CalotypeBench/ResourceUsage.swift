import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// This process's CPU time and peak memory, read around each round so that
/// a mode's CPU utilisation (CPU seconds over wall seconds: 2.0 is two cores
/// busy) and its memory high-water mark can be reported.
enum ResourceUsage {
    /// User plus system CPU time of every thread of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return .nan }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The resident-memory high-water mark, in bytes. On Linux it can be
    /// reset between modes (`/proc/self/clear_refs`), so each mode's figure is
    /// its own; elsewhere it is `ru_maxrss`, the process's peak so far.
    static func peakResidentBytes() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        {
            return kilobytes * 1024
        }
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
    }

    /// Resets the high-water mark to the current resident size, where the
    /// system allows it; returns whether it did.
    @discardableResult
    static func resetPeakResident() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }
}
