import Foundation
import Server

extension ServerConfiguration {
    /// Who may use the server: the API keys, from the file
    /// `CALOTYPE_API_KEYS_FILE` names, or from `CALOTYPE_API_KEYS`, the
    /// file's JSON itself (a file of that name in the secrets folder, as a
    /// Kubernetes Secret mounts it). Neither: the server is open.
    mutating func readAccess(from settings: Settings) throws(ConfigurationError) {
        let path = settings.string("CALOTYPE_API_KEYS_FILE")
        let inline = settings.secret("CALOTYPE_API_KEYS")
        switch (path, inline) {
        case (nil, nil):
            apiKeys = nil
        case (let path?, nil):
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ConfigurationError(variable: "CALOTYPE_API_KEYS_FILE", value: path, allowed: "a keys file this process can read")
            }
            do {
                apiKeys = try APIKeys(json: data)
            } catch {
                throw ConfigurationError(variable: "CALOTYPE_API_KEYS_FILE", value: path, allowed: "a keys file that is usable: it \(error)")
            }
        case (nil, let json?):
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
