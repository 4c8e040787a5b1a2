/// An optional field that encodes as JSON `null` when absent: Vault writes such keys, where Swift's synthesized
/// encoding would leave them out. `@EncodesNull var lastRenewal: String?` is set and read as the optional.
/// It lives in the foundation so a domain type can say how its own optional fields are written.
@propertyWrapper
public struct EncodesNull<Wrapped: Encodable>: Encodable {
    public var wrappedValue: Wrapped?

    public init(wrappedValue: Wrapped?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension EncodesNull: Sendable where Wrapped: Sendable {}
extension EncodesNull: Equatable where Wrapped: Equatable {}
extension EncodesNull: Hashable where Wrapped: Hashable {}
