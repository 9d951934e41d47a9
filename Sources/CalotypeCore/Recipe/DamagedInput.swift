/// How damaged an input may be and still be served: the least serious
/// decoder complaint that refuses it (libvips' `fail_on`).
///
/// A JPEG whose entropy-coded data is damaged decodes to garbage with only a
/// warning; served, it looks like Calotype's fault. So the default refuses
/// on any warning, as sharp's `failOn: 'warning'` does. Operators relax it
/// with `CALOTYPE_FAIL_ON`, and a recipe with `fail_on`.
public enum DamagedInput: String, StringEnumParameter {
    /// Serve whatever decodes, grey where data is missing.
    case none
    /// Refuse files that end early.
    case truncated
    /// Refuse files the decoder reports errors in.
    case error
    /// Refuse files the decoder warns about (damaged entropy-coded data included).
    case warning

    /// The default of servers and the CLI unless configured otherwise.
    public static let `default` = DamagedInput.warning

    /// libvips' loader option for this policy.
    package var loaderOption: String { "fail_on=\(rawValue)" }
}
