import CofferFoundation
@testable import CofferHTTP
import Foundation
import NIOCore
import PropertyBased
import Testing

/// Request bodies are read as Vault reads request fields (Go's weak decoding), and a secret's own data never is.
struct WeakJSONDecoderTests {
    struct Fields: Decodable, Equatable {
        var flag: Bool?
        var count: Int?
        var big: Int64?
        var ratio: Double?
        var name: String?
        var names: [String]?
        var numbers: [Int64]?
        var options: [String: String]?
    }

    func decode(_ json: String) throws -> Fields {
        try WeakJSONDecoder().decode(Fields.self, from: Array(json.utf8))
    }

    @Test(arguments: [
        (#"{"flag": true}"#, true), (#"{"flag": 1}"#, true), (#"{"flag": 0}"#, false), (#"{"flag": 2}"#, true),
        (#"{"flag": "true"}"#, true), (#"{"flag": "t"}"#, true), (#"{"flag": "TRUE"}"#, true), (#"{"flag": "1"}"#, true),
        (#"{"flag": "false"}"#, false), (#"{"flag": "F"}"#, false), (#"{"flag": "0"}"#, false), (#"{"flag": ""}"#, false)
    ])
    func booleans(json: String, expected: Bool) throws {
        #expect(try decode(json).flag == expected)
    }

    @Test func numbersStringsAndLists() throws {
        #expect(
            try decode(#"{"count": "42", "big": "9007199254740993", "ratio": "0.5"}"#)
                == Fields(count: 42, big: 9_007_199_254_740_993, ratio: 0.5))
        #expect(try decode(#"{"count": 42.0, "big": true, "ratio": 3}"#) == Fields(count: 42, big: 1, ratio: 3))
        #expect(try decode(#"{"name": 2}"#).name == "2")
        #expect(try decode(#"{"name": 2.5}"#).name == "2.5")
        #expect(try decode(#"{"name": true}"#).name == "1")
        #expect(try decode(#"{"names": "a, b,,c"}"#).names == ["a", "b", "c"])
        #expect(try decode(#"{"names": ["a", 1, false]}"#).names == ["a", "1", "0"])
        #expect(try decode(#"{"names": "single"}"#).names == ["single"])
        #expect(try decode(#"{"numbers": "1,2,3"}"#).numbers == [1, 2, 3])
        #expect(try decode(#"{"numbers": 7}"#).numbers == [7])
        #expect(try decode(#"{"options": {"version": 2, "cas": true}}"#).options == ["version": "2", "cas": "1"])
        #expect(try decode(#"{"name": null}"#).name == nil)
    }

    struct Narrow: Decodable, Equatable {
        var small: UInt8?
        var signed: Int16?
        var ratio: Float?
    }

    /// Every standard number type is converted the same way, and one that does not fit is refused.
    @Test func narrowNumbers() throws {
        let decoded = try WeakJSONDecoder().decode(Narrow.self, from: Array(#"{"small": "200", "signed": -3, "ratio": "0.25"}"#.utf8))
        #expect(decoded == Narrow(small: 200, signed: -3, ratio: 0.25))
        #expect(throws: DecodingError.self) { try WeakJSONDecoder().decode(Narrow.self, from: Array(#"{"small": 300}"#.utf8)) }
    }

    /// What cannot be converted is refused, naming the field and what was found.
    @Test(arguments: [
        #"{"flag": "yes"}"#, #"{"count": "4x"}"#, #"{"count": 4.5}"#, #"{"count": "99999999999999999999"}"#,
        #"{"ratio": "NaN"}"#, #"{"name": {"a": 1}}"#, #"{"names": {"a": "b"}}"#, #"{"options": "version=2"}"#, "[1]", "not json"
    ])
    func unconvertibleValuesAreRefused(json: String) throws {
        #expect(throws: DecodingError.self) { try decode(json) }
    }

    /// Through ``Body``: a 400 that names the field.
    @Test func bodyErrorsNameTheField() throws {
        let error = try #require(throws: APIError.self) { try Body.decode(Fields.self, .init(string: #"{"options": {"version": [1]}}"#)) }
        #expect("\(error)".contains("options.version"), "\(error)")
    }

    struct SecretBody: Decodable {
        let data: JSONValue
    }

    /// Values a weak decoder would be tempted to convert.
    static let tempting: [JSONValue] = [
        .bool(true), .bool(false), .integer(0), .integer(1), .integer(-7), .number(2.5), .null,
        .string("true"), .string("1"), .string("0"), .string("false"), .string(""), .string("1,2"),
        .string("a, b"), .string("3600"), .string("1h"), .string("\u{E9}"), .string("e\u{301}"),
        .array([.string("1"), .integer(1)]), .object(["v": .string("2")])
    ]

    /// A secret's data is taken exactly as sent, whatever it holds: "true" stays a string, 1 stays a number,
    /// "a,b" is not a list.
    @Test func secretDataIsNeverConverted() async throws {
        let objects = Gen.element(of: Self.tempting).map { $0 ?? .null }.array(of: 0...6).map { values in
            JSONValue.object(Dictionary(uniqueKeysWithValues: values.enumerated().map { ("k\($0.offset)", $0.element) }))
        }
        await propertyCheck(count: 300, input: objects) { data in
            let body = Array(#"{"data": "#.utf8) + (try! data.encoded()) + Array("}".utf8)
            let decoded = try? WeakJSONDecoder().decode(SecretBody.self, from: body)
            #expect(decoded?.data == data)
        }
    }
}
