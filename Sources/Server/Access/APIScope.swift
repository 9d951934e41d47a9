/// What a key may do. Each protected route group names the one scope it
/// needs; `admin` holds every other and reaches every tenant's batches.
public enum APIScope: String, CaseIterable, Codable, Sendable, Hashable {
    /// `POST /process`, and `GET /img` with an unsigned URL (a signed one
    /// needs no key: its signature is the credential).
    case process
    /// Every batch endpoint, for the tenant's own batches.
    case batches
    /// `/metrics`, `/stats` and `/cluster`.
    case metrics
    /// Everything, other tenants' batches included.
    case admin
}
