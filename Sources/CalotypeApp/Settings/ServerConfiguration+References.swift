import AsyncHTTPClient
import CalotypeCore
import CalotypeImageURL
import CalotypeS3
import CalotypeSources
import Foundation
import NIOPosix
import Server

extension ServerConfiguration {
    /// Images by reference: what may be fetched (`CALOTYPE_ALLOWED_SOURCES`,
    /// the address guard's two switches), from where (`AWS_*` for s3://,
    /// `CALOTYPE_LOCAL_SOURCES_ROOT` for local:///), within what time, and
    /// `GET /img`'s signing keys, presets, caching and negotiated formats.
    mutating func readReferences(from settings: Settings, resolver: any HostResolver) throws(ConfigurationError) {
        let allowed = settings.string("CALOTYPE_ALLOWED_SOURCES") ?? ""
        let allowList: SourceAllowList
        do {
            allowList = try SourceAllowList(allowed)
        } catch {
            throw ConfigurationError(
                variable: "CALOTYPE_ALLOWED_SOURCES",
                value: allowed,
                allowed: "comma-separated http(s)://host/, s3://bucket/ or local:///folder/ prefixes"
            )
        }
        let addressGuard = AddressGuard(
            allowLoopback: try settings.flag("CALOTYPE_ALLOW_LOOPBACK_SOURCES") ?? false,
            allowPrivate: try settings.flag("CALOTYPE_ALLOW_PRIVATE_SOURCES") ?? false
        )
        var limits = FetchLimits()
        if let maxImageBytes { limits.maxBytes = maxImageBytes }
        if let seconds = try settings.integer("CALOTYPE_SOURCE_TIMEOUT", in: 1...600) { limits.totalTimeout = .seconds(seconds) }
        if let seconds = try settings.integer("CALOTYPE_SOURCE_CONNECT_TIMEOUT", in: 1...600) { limits.connectTimeout = .seconds(seconds) }
        if let seconds = try settings.integer("CALOTYPE_SOURCE_IDLE_TIMEOUT", in: 1...600) { limits.idleTimeout = .seconds(seconds) }
        maxConcurrentFetches = try settings.integer("CALOTYPE_MAX_FETCHES", in: 1...1024)
        // No fetch waits for a connection to its origin: one each at most.
        limits.maxConnectionsPerOrigin = max(64, maxConcurrentFetches ?? 0)
        let policy = SourcePolicy(allowList: allowList, addressGuard: addressGuard, resolver: resolver)

        // S3 sources when the allow-list names a bucket and a service is configured.
        var s3: S3Client?
        if allowList.prefixes.contains(where: { $0.hasPrefix("s3://") }) {
            var s3Configuration = try S3Client.Configuration.read(from: settings, for: "s3:// sources in CALOTYPE_ALLOWED_SOURCES")
            s3Configuration.timeout = limits.totalTimeout
            s3 = S3Client(configuration: s3Configuration, http: .shared)
        }
        var local: LocalSourceReader?
        if let root = settings.string("CALOTYPE_LOCAL_SOURCES_ROOT") {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
                throw ConfigurationError(variable: "CALOTYPE_LOCAL_SOURCES_ROOT", value: root, allowed: "an existing folder")
            }
            local = LocalSourceReader(root: URL(fileURLWithPath: root), allowList: allowList)
        }
        sources = ReferenceFetcher(
            policy: policy,
            http: HTTPSourceFetcher(policy: policy, limits: limits, eventLoopGroup: MultiThreadedEventLoopGroup.singleton),
            s3: s3,
            local: local
        )

        try readDestinations(from: settings)
        try readImageURLs(from: settings)
    }

    /// `CALOTYPE_ALLOWED_DESTINATIONS`: the s3://bucket/prefix/ folders a
    /// batch by reference may write its results to; empty: none.
    private mutating func readDestinations(from settings: Settings) throws(ConfigurationError) {
        guard let allowed = settings.string("CALOTYPE_ALLOWED_DESTINATIONS") else { return }
        let allowList: SourceAllowList
        do {
            allowList = try SourceAllowList(allowed)
        } catch {
            throw ConfigurationError(
                variable: "CALOTYPE_ALLOWED_DESTINATIONS",
                value: allowed,
                allowed: "comma-separated s3://bucket/prefix/ folders"
            )
        }
        guard allowList.prefixes.allSatisfy({ $0.hasPrefix("s3://") }) else {
            throw ConfigurationError(
                variable: "CALOTYPE_ALLOWED_DESTINATIONS",
                value: allowed,
                allowed: "comma-separated s3://bucket/prefix/ folders"
            )
        }
        let client = S3Client(configuration: try S3Client.Configuration.read(from: settings, for: "CALOTYPE_ALLOWED_DESTINATIONS"), http: .shared)
        destinations = S3Destinations(allowList: allowList, client: client)
    }

    private mutating func readImageURLs(from settings: Settings) throws(ConfigurationError) {
        if let keys = try URLSigningKeys.read(from: settings) { imageURLs.signingKeys = keys }
        if let unsigned = try settings.flag("CALOTYPE_ALLOW_UNSIGNED") { imageURLs.allowUnsigned = unsigned }
        if let seconds = try settings.integer("CALOTYPE_IMG_MAX_AGE", in: 0...31_536_000) { imageURLs.cacheMaxAge = seconds }
        if let presets = settings.string("CALOTYPE_PRESETS") {
            for entry in presets.split(separator: ",") {
                let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ConfigurationError(variable: "CALOTYPE_PRESETS", value: presets, allowed: "name=option:arg/option:arg, comma separated")
                }
                imageURLs.presets[parts[0]] = parts[1]
            }
            // Each preset read as a URL's options would be, at start-up: a
            // bad one is a configuration error, not a 400 on every use.
            for (name, preset) in imageURLs.presets {
                do {
                    _ = try ImgproxyOptions(ImageURL.options(preset), presets: imageURLs.presets).recipe()
                } catch {
                    throw ConfigurationError(
                        variable: "CALOTYPE_PRESETS",
                        value: presets,
                        allowed: "options imgproxy's URLs take (preset \(name): \(error))"
                    )
                }
            }
        }
        if let formats = settings.string("CALOTYPE_IMG_NEGOTIATE") {
            var chosen: [OutputFormat] = []
            for name in formats.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() })
            where !name.isEmpty && name != "none" {
                guard let format = OutputFormat(rawValue: name), ImageURLConfiguration.negotiableFormats.contains(format) else {
                    throw ConfigurationError(
                        variable: "CALOTYPE_IMG_NEGOTIATE",
                        value: formats,
                        allowed: "avif, jxl and webp in the order preferred, or none"
                    )
                }
                chosen.append(format)
            }
            imageURLs.negotiatedFormats = chosen
        }
    }
}

extension URLSigningKeys {
    /// `CALOTYPE_SIGNING_KEY` and `CALOTYPE_SIGNING_SALT` (hex, comma
    /// separated pairs), as `serve` checks signatures and `sign` makes them;
    /// nil when no key is set.
    public static func read(from settings: Settings) throws(ConfigurationError) -> URLSigningKeys? {
        guard let keys = settings.secret("CALOTYPE_SIGNING_KEY") else { return nil }
        let salts = settings.secret("CALOTYPE_SIGNING_SALT") ?? ""
        do {
            return try URLSigningKeys(keys: keys, salts: salts)
        } catch {
            throw ConfigurationError(variable: "CALOTYPE_SIGNING_KEY", value: "(secret)", allowed: error.description)
        }
    }
}
