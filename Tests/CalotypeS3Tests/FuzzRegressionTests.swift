import Testing

@testable import CalotypeS3

/// What the S3 XML fuzz target (Fuzz/Sources/FuzzS3XML, docs/FUZZING.md)
/// found, kept as tests: the client's LIST and error parses on answers no
/// honest server sends. Pure parsing, no server needed.
@Suite("S3 XML answers found by fuzzing")
struct S3XMLFuzzRegressionTests {
    /// Fuzz/Corpus/s3-xml/list-odd-sizes: a LIST entry's `Size` of -1 was
    /// read as an object of -1 bytes. A size that is not a whole number of
    /// bytes now reads as 0, as a missing or overflowing one did.
    @Test func sizesThatAreNotByteCountsReadAsZero() {
        let xml = """
            <ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>a</Key><Size>99999999999999999999999</Size></Contents>\
            <Contents><Key>b</Key><Size>-1</Size></Contents>\
            <Contents><Key>c</Key><Size>+7</Size></Contents>\
            <Contents><Size> 5</Size></Contents></ListBucketResult>
            """
        let page = S3Client.page(listXML: xml)
        #expect(page.objects.map(\.key) == ["a", "b", "c", ""])
        #expect(page.objects.map(\.size) == [0, 0, 7, 0])
        #expect(page.continuationToken == nil)
    }

    /// The seeds' well-formed answers read as the client always read them.
    @Test func wellFormedAnswers() {
        let list = """
            <ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/1=</NextContinuationToken>\
            <Contents><Key>in/b &amp; c &lt;1&gt;.png</Key><ETag>&quot;d41d8&quot;</ETag><Size>35512</Size></Contents>\
            </ListBucketResult>
            """
        let page = S3Client.page(listXML: list)
        #expect(page.objects == [S3Client.ObjectInfo(key: "in/b & c <1>.png", size: 35_512, eTag: "\"d41d8\"")])
        #expect(page.continuationToken == "t/1=")

        let error = "<Error><Code>NoSuchKey</Code><Message>Check &apos;key&apos;.</Message></Error>"
        #expect(S3Client.errorDetails(errorXML: error, reasonPhrase: "Not Found") == ("NoSuchKey", "Check 'key'."))
        #expect(S3Client.errorDetails(errorXML: "<html>", reasonPhrase: "Bad Gateway") == ("Bad Gateway", ""))
    }
}
