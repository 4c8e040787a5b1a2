import CofferFoundation
import CofferServerTesting
import HTTPTypes
import HummingbirdTesting
import Testing

/// The feature store's answers as a client reads them (the wire's field names), so the feature tests check
/// typed values rather than walking `[String: Any]`.
enum Features {
    /// One feature's latest value in a read: `value` is `.null` when the wire says `null`.
    struct Reading: Decodable {
        let status: String
        let value: JSONValue
    }

    /// `coffer/features/read/<set>` and `GET coffer/features/values/<set>`: entity, then feature.
    struct Read: Decodable {
        let entities: [String: [String: Reading]]
    }

    /// `coffer/features/history/…`, oldest first.
    struct History: Decodable {
        struct Point: Decodable { let value: JSONValue }
        let points: [Point]
    }

    /// `coffer/features/stats/<set>`.
    struct Statistics: Decodable {
        struct Feature: Decodable {
            let feature: String
            let count: Int
            let nulls: Int
            let min: JSONValue
            let max: JSONValue
            let mean: JSONValue
        }
        let features: [Feature]
        let hits: Int
        let misses: Int
        let expired: Int
    }

    /// A batch write.
    struct Written: Decodable { let written: Int }
}

extension TestClientProtocol {
    /// A feature read (`POST …/read/<set>` with `body`, or `GET …/values/<set>?…`) as `token`: entity, then feature.
    func features(
        _ token: String, _ uri: String, method: HTTPRequest.Method = .post, _ body: [String: Any]? = nil
    ) async throws -> [String: [String: Features.Reading]] {
        let (status, read) = try await answer(Features.Read.self, uri, method, token: token, body)
        #expect(status == .ok, "\(uri): \(read.errors ?? [])")
        return read.data?.entities ?? [:]
    }
}
