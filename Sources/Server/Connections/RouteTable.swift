import HTTPTypes

/// The API's paths and the methods each takes, read from the router once
/// its routes are added, so that a request no route takes can be answered
/// 404 (no such path) or 405 (the path exists; `Allow` lists its methods).
struct RouteTable: Sendable {
    private struct Entry: Sendable {
        /// Path components; nil matches any one component (`{id}`).
        let components: [String?]
        var methods: Set<HTTPRequest.Method>
    }

    private var entries: [Entry] = []

    /// `routes`: (path as the router spells it, e.g. `/batches/{id}`, method).
    init(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        for route in routes {
            let components = Self.split(route.path).map { $0.hasPrefix("{") || $0.hasPrefix(":") ? nil : String($0) }
            if let index = entries.firstIndex(where: { $0.components == components }) {
                entries[index].methods.insert(route.method)
            } else {
                entries.append(Entry(components: components, methods: [route.method]))
            }
        }
    }

    /// The methods `path` takes; empty when no route has that path.
    func methods(for path: String) -> Set<HTTPRequest.Method> {
        let components = Self.split(path)
        var methods = Set<HTTPRequest.Method>()
        for entry in entries where entry.components.count == components.count {
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
