import Foundation
import Server

extension ServerConfiguration {
    /// Who may use the server: the API keys, from the file
    /// `CALOTYPE_API_KEYS_FILE` names, or from `CALOTYPE_API_KEYS`, the
    /// file's JSON itself (a file of that name in the secrets folder, as a
    /// Kubernetes Secret mounts it). Neither: the server is open.
    mutating func readAccess(from settings: Settings) throws(ConfigurationError) {
        try readKeys(from: settings)
        var origins: Set<String> = []
        if let list = settings.string("CALOTYPE_CORS_ORIGINS") {
            for origin in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !origin.isEmpty {
                guard Self.isOrigin(origin) else {
                    throw ConfigurationError(
                        variable: "CALOTYPE_CORS_ORIGINS",
                        value: list,
                        allowed: "comma-separated origins as browsers send them: https://app.example.com (a scheme and a host, no path)"
                    )
                }
                origins.insert(origin)
            }
        }
        var hosts: Set<String>?
        if let list = settings.string("CALOTYPE_ALLOWED_HOSTS") {
            let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty, names.allSatisfy({ !$0.contains("/") && !$0.contains(" ") }) else {
                throw ConfigurationError(
                    variable: "CALOTYPE_ALLOWED_HOSTS",
                    value: list,
                    allowed: "comma-separated host names, each with or without a port: images.example.com,localhost:8080"
                )
            }
            hosts = Set(names)
        }
        crossSite = CrossSitePolicy(allowedOrigins: origins, allowedHosts: hosts)
    }

    /// `scheme://host[:port]`, nothing after.
    static func isOrigin(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host,
            !host.isEmpty
        else { return false }
        return url.path.isEmpty && url.query == nil && url.fragment == nil && url.user == nil && !text.hasSuffix("/")
    }

    private mutating func readKeys(from settings: Settings) throws(ConfigurationError) {
        let path = settings.string("CALOTYPE_API_KEYS_FILE")
        let inline = settings.secret("CALOTYPE_API_KEYS")
        switch (path, inline) {
        case (nil, nil):
            apiKeys = nil
        case (let path?, nil):
            let data: Data
            do {
                // Read no further than a file of the most keys could be: a
                // path to a device or a huge file is refused, not read whole.
                let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
                defer { try? file.close() }
                data = try file.read(upToCount: APIKeys.maxFileBytes + 1) ?? Data()
            } catch {
                throw ConfigurationError(variable: "CALOTYPE_API_KEYS_FILE", value: path, allowed: "a keys file this process can read")
            }
            guard data.count <= APIKeys.maxFileBytes else {
                throw ConfigurationError(
                    variable: "CALOTYPE_API_KEYS_FILE",
                    value: path,
                    allowed: "a keys file of at most \(APIKeys.maxFileBytes) bytes"
                )
            }
            do {
                apiKeys = try APIKeys(json: data)
            } catch {
                throw ConfigurationError(variable: "CALOTYPE_API_KEYS_FILE", value: path, allowed: "a keys file that is usable: it \(error)")
            }
        case (nil, let json?):
            guard json.utf8.count <= APIKeys.maxFileBytes else {
                throw ConfigurationError(
                    variable: "CALOTYPE_API_KEYS",
                    value: "(secret)",
                    allowed: "a keys file's JSON of at most \(APIKeys.maxFileBytes) bytes"
                )
            }
            do {
                apiKeys = try APIKeys(json: Data(json.utf8))
            } catch {
                throw ConfigurationError(variable: "CALOTYPE_API_KEYS", value: "(secret)", allowed: "a keys file's JSON that is usable: it \(error)")
            }
        case (let path?, _?):
            throw ConfigurationError(
                variable: "CALOTYPE_API_KEYS_FILE",
                value: path,
                allowed: "unset when CALOTYPE_API_KEYS holds the keys (one source of keys, not two)"
            )
        }
    }
}
