import CLibFuzzer

#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer's driver on `testOneInput` with the process's arguments
/// (`-max_total_time=`, a corpus folder, a crash file to replay, ...) and
/// exits with its status. Each target's main.swift calls it.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// Fails the current input when a property the parser promises is broken:
/// prints why and aborts, which libFuzzer reports as a crash and saves the
/// input (`crash-<sha1>`) for a regression test.
public func require(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    guard !condition() else { return }
    let report = Array("fuzz property broken at \(file):\(line): \(message())\n".utf8)
    _ = report.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}

/// The input as text, invalid UTF-8 repaired (U+FFFD), as a server reading a
/// request's path or query would see it.
public func text(_ input: UnsafeRawBufferPointer) -> String {
    String(decoding: input, as: UTF8.self)
}
