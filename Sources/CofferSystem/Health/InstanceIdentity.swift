import CofferFoundation
import CofferHTTP
public import CofferStore
import Foundation

/// The identity of this installation (the `coffer_instance` row): what Vault calls the cluster.
/// Every Coffer process sharing one database reports the same identity.
public struct InstanceIdentity: Sendable, Equatable {
    public let clusterID: String
    public let clusterName: String

    /// Reads the identity, creating it on the first start-up of a new database.
    public static func ensure(in database: any Database, clusterName: String?) async throws -> InstanceIdentity {
        let id = UUID().uuidString.lowercased()
        let name = clusterName ?? "coffer-cluster-\(id.prefix(8))"
        return try await database.transaction { connection in
            // Two instances starting at once both try; the primary key lets exactly one row in.
            try connection.execute(
                """
                INSERT INTO coffer_instance (id, cluster_id, cluster_name, created_at)
                VALUES (1, \(id), \(name), \(WallClock.now)) ON CONFLICT (id) DO NOTHING
                """)
            guard
                let identity = try connection.query(
                    InstanceIdentity.self, "SELECT \(columns: InstanceIdentity.Column.self) FROM coffer_instance WHERE id = 1"
                ).first
            else {
                throw StoreError(.sqlError, "coffer_instance has no row after inserting one")
            }
            return identity
        }
    }
}

/// The `coffer_instance` row.
extension InstanceIdentity: SQLRowDecodable {
    /// The columns of `coffer_instance` the identity is read from.
    enum Column: String, SQLColumn { case clusterID = "cluster_id", clusterName = "cluster_name" }

    public init(row: SQLRow) throws {
        self.init(clusterID: try row.decode(Column.clusterID), clusterName: try row.decode(Column.clusterName))
    }
}
