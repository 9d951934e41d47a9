import FuzzSupport

@testable import CalotypeS3UnderFuzz

/// S3's XML answers as the client reads them: a ListObjectsV2 page
/// (`S3Client.page(listXML:)`) and an error (`S3Client.errorDetails`), from
/// whatever a server (or something posing as one) sends.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: count)
    let xml = text(input)

    let page = S3Client.page(listXML: xml)
    let entries = S3XML.elements("Contents", in: xml)
    require(page.objects.count == entries.count, "\(page.objects.count) objects from \(entries.count) <Contents>")
    for object in page.objects {
        require(object.size >= 0, "an object of \(object.size) bytes (key '\(object.key)')")
    }
    if page.continuationToken != nil {
        require(S3XML.value("IsTruncated", in: xml) == "true", "a continuation token on a page that is not truncated")
    }

    let (code, message) = S3Client.errorDetails(errorXML: xml, reasonPhrase: "Bad Gateway")
    require(!code.isEmpty || S3XML.value("Code", in: xml) == "", "an empty code without an empty <Code>")
    _ = message

    // Unescaping never lengthens text (each entity is longer than its character).
    for element in entries.prefix(4) {
        require(S3XML.unescape(element).utf8.count <= element.utf8.count, "unescaping lengthened '\(element)'")
    }
    return 0
}
