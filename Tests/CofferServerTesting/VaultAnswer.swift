import Foundation
package import NIOCore

/// Vault's response envelope as a client reads it; `data` typed per route, `auth` as every login returns it.
package struct VaultAnswer<D: Decodable>: Decodable {
    package let data: D?
    package let auth: VaultAuth?
    package let errors: [String]?
    package let warnings: [String]?
    /// The lease hint (a KV version 1 secret's `ttl`, a dynamic credential's lease), when the answer has one.
    package let leaseDuration: Int?
    package let leaseID: String?
    package let renewable: Bool?
    /// A response-wrapped answer's token and where it was made.
    package let wrapInfo: WrapInfo?

    enum CodingKeys: String, CodingKey {
        case data, auth, errors, warnings, renewable
        case leaseDuration = "lease_duration", leaseID = "lease_id", wrapInfo = "wrap_info"
    }
}

/// Vault's `wrap_info`.
package struct WrapInfo: Decodable {
    package let token: String
    package let ttl: Int
    package let creationPath: String

    enum CodingKeys: String, CodingKey {
        case token, ttl
        case creationPath = "creation_path"
    }
}

extension VaultAnswer {
    /// An answer's body as the server sent it (an empty body reads as `{}`: a 204 has no fields).
    package init(body: ByteBuffer) throws {
        self = try JSONDecoder().decode(Self.self, from: body.readableBytes == 0 ? Data("{}".utf8) : Data(body.readableBytesView))
    }

    /// An answer printed by the CLI (`-format=json`).
    package init(json: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
    }
}

/// Vault's `auth` block (token create, logins).
package struct VaultAuth: Decodable {
    package let clientToken: String
    package let accessor: String
    package let policies: [String]
    package let metadata: [String: String]?
    package let leaseDuration: Int
    package let renewable: Bool
    package let orphan: Bool?

    enum CodingKeys: String, CodingKey {
        case clientToken = "client_token", accessor, policies, metadata, leaseDuration = "lease_duration", renewable, orphan
    }
}

/// For answers whose `data` is not read.
package struct UnreadData: Decodable {}
