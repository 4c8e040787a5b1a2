import CofferHTTP
import CofferStore
import Foundation
import HTTPTypes
import Hummingbird

/// Vault Enterprise's read-after-write headers over PostgreSQL's WAL positions.
///
/// A change's successful answer carries `X-Vault-Index`: the primary's WAL position after it committed (read
/// with the COMMIT itself, ``PostgresDatabase/newestCommitPosition``). A client that sends it back (one or more
/// `X-Vault-Index` headers; the newest counts) on a read is served from a read replica only once the standby
/// has replayed that far (``ReplicaRoutedDatabase``), else from the primary: it never reads older than its own
/// write, on any instance. Without the header, an instance with a read replica
/// still waits for its own newest write, so a client that stays on one instance reads its writes unasked.
/// (The index is PostgreSQL's `16/B374D848`, not Vault's opaque encoding: a client echoes it either way.)
struct ConsistencyIndexMiddleware: RouterMiddleware {
    typealias Context = CofferRequestContext

    let primary: PostgresDatabase
    let routed: ReplicaRoutedDatabase?
    /// `consistency_index`: off, changes answer without the index. An instance with a read replica still reads
    /// the position (its own reads wait for its writes).
    let answersIndex: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = try Self.presentedIndex(request.headers)
        var context = context
        if routed != nil { context.replicaRead = ReplicaRead(atLeast: presented) }
        var response = try await next(request, context)
        // The change committed before its handler returned, and every commit notes its position: no query here.
        guard answersIndex || routed != nil, Self.changes(request.method), response.status.kind == .successful,
            let position = primary.newestCommitPosition
        else { return response }
        if answersIndex { response.headers[.vaultIndex] = position.description }
        routed?.noteLocalWrite(position)
        return response
    }

    /// Methods that change state: their answers carry the index (Vault's reads never do).
    static func changes(_ method: HTTPRequest.Method) -> Bool {
        method == .post || method == .put || method == .patch || method == .delete
    }

    /// The newest index among the request's `X-Vault-Index` headers (each may hold a comma-separated list).
    /// - Throws: ``APIError`` 400 when one is not a WAL position (it is not quoted back: it is the client's text).
    static func presentedIndex(_ headers: HTTPFields) throws -> WALPosition? {
        var newest: WALPosition?
        for value in headers[values: .vaultIndex] {
            for item in value.split(separator: ",") {
                let text = item.trimmingCharacters(in: .whitespaces)
                guard let position = WALPosition(text) else {
                    throw APIError(
                        .badRequest,
                        "X-Vault-Index must be the index a Coffer write answered with (a WAL position such as 0/16B3748): "
                            + "send it back as it came")
                }
                newest = max(newest ?? position, position)
            }
        }
        return newest
    }
}

extension HTTPField.Name {
    /// `X-Vault-Index`: Vault Enterprise's consistency header, here a PostgreSQL WAL position.
    static let vaultIndex = HTTPField.Name("X-Vault-Index") ?? .via
}
