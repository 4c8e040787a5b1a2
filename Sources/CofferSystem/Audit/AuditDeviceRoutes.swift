public import CofferAccess
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `sys/audit` and `sys/audit-hash`, in Vault's shapes, behind `sudo` as in Vault: Coffer's own trail listed as
/// the device `coffer/` (always on, cannot be disabled), and `file` and `socket` devices that receive every
/// request and response in Vault's JSON audit format, within the destinations the operator allows.
public struct AuditDeviceRoutes: Sendable {
    let devices: AuditDevices

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(devices: AuditDevices) {
        self.devices = devices
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.on("/v1/sys/audit", method: .get, access: .sudo) { _, _, _ in
            var listed: [String: DeviceData] = ["coffer/": .trail]
            for device in try await devices.list() { listed[device.key] = DeviceData(device) }
            return VaultJSON.response(status: .ok, MountList(data: listed))
        }
        router.onWrite("/v1/sys/audit/:path", access: .sudo) { request, context, grant in
            let body = try await Body.decode(EnableBody.self, request, context)
            try await devices.enable(
                grant, path: try context.parameters.require("path"), type: body.type,
                description: body.description ?? "", options: body.options ?? [:])
            return Response(status: .noContent)
        }
        router.onWrite("/v1/sys/audit-hash/:path", access: .sudo) { request, context, _ in
            let body = try await Body.decode(HashBody.self, request, context)
            guard let input = body.input else { throw APIError(.badRequest, "input is required: the value to hash") }
            let hash = try await devices.hash(path: try context.parameters.require("path"), input: input)
            return VaultJSON.response(status: .ok, FlatEnvelope(fields: ["hash": hash]))
        }
        router.on("/v1/sys/audit/:path", method: .delete, access: .sudo) { _, context, grant in
            try await devices.disable(grant, path: try context.parameters.require("path"))
            return Response(status: .noContent)
        }
    }

    package struct EnableBody: Decodable {
        var type: String
        var description: String?
        var options: [String: String]?
    }

    package struct HashBody: Decodable {
        var input: String?
    }

    /// A device as `sys/audit` lists it.
    struct DeviceData: Encodable {
        let type: String
        let description: String
        let options: [String: String]
        let local = false
        let path: String

        init(_ device: AuditDevice) {
            type = device.type
            description = device.description
            options = device.options
            path = device.key
        }

        private init(type: String, description: String, path: String) {
            self.type = type
            self.description = description
            options = [:]
            self.path = path
        }

        /// Coffer's own trail (Docs/AUDIT.md): the record, chained, signed and fail-closed.
        static let trail = DeviceData(
            type: "coffer", description: "Coffer's tamper-evident audit trail: the record, always on and fail-closed",
            path: "coffer/")
    }
}
