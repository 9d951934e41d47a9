import HTTPTypes

/// The API's paths and the methods each takes, read from the router once
/// its routes are added, so that a request no route takes can be answered
/// 404 (no such path) or 405 (the path exists; `Allow` lists its methods).
struct RouteTable: Sendable {
    private struct Entry: Sendable {
        /// Path components; nil matches any one component (`{id}`).
        let components: [String?]
        /// The path ends in `**`: the components above are a prefix, and
        /// one or more of any follow (`/img/**`).
        let catchAll: Bool
        var methods: Set<HTTPRequest.Method>
    }

    private var entries: [Entry] = []

    /// `routes`: (path as the router spells it, e.g. `/batches/{id}`, method).
    init(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        for route in routes {
            var parts = Self.split(route.path)
            let catchAll = parts.last == "**"
            if catchAll { parts.removeLast() }
            let components = parts.map { $0.hasPrefix("{") || $0.hasPrefix(":") ? nil : String($0) }
            if let index = entries.firstIndex(where: { $0.components == components && $0.catchAll == catchAll }) {
                entries[index].methods.insert(route.method)
            } else {
                entries.append(Entry(components: components, catchAll: catchAll, methods: [route.method]))
            }
        }
    }

    /// The methods `path` takes; empty when no route has that path.
    func methods(for path: String) -> Set<HTTPRequest.Method> {
        let components = Self.split(path)
        var methods = Set<HTTPRequest.Method>()
        for entry in entries where entry.catchAll ? components.count > entry.components.count : entry.components.count == components.count {
            let matches = zip(entry.components, components).allSatisfy { pattern, component in
                pattern.map { $0 == component } ?? !component.isEmpty
            }
            if matches { methods.formUnion(entry.methods) }
        }
        return methods
    }

    private static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
