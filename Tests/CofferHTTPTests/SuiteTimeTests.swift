import CofferFoundation
import CofferStore
@testable import CofferHTTP
import Foundation
import HTTPTypes
import PropertyBased
import Testing

/// Times a client sends to the suite's routes (Unix seconds or RFC 3339): any number is either a time Coffer can
/// store or a 400 naming the field, never a trap. Found by `make fuzz-api`: `"until": 5.19e16` as Unix seconds
/// silenced an alert at a time whose microseconds overflow an Int64, and the conversion stopped the process.
struct SuiteTimeTests {
    /// `mantissa × 10^exponent` seconds: spans sub-second values to far past ±2^63 microseconds, both signs.
    static let seconds = zip(Gen<Int>.int(in: -99_999...99_999), Gen<Int>.int(in: 0...24)).map { mantissa, exponent in
        Double(mantissa) * pow(10, Double(exponent))
    }

    @Test func anyNumberOfSecondsIsAStorableTimeOrA400() async {
        await propertyCheck(count: 500, input: Self.seconds) { seconds in
            let inRange = seconds >= -62_135_769_600 && seconds < 253_402_300_800
            do {
                let date = try SuiteTime.parse(String(seconds), field: "until")
                #expect(inRange && date.isStorable, "\(seconds) was accepted")
                // What the store does with it next: whole microseconds, exactly.
                #expect(date.microsecondsSinceEpoch == Int64((seconds * 1_000_000).rounded()))
            } catch let error as APIError {
                #expect(!inRange, "\(seconds) was refused")
                #expect(error.status == .badRequest && error.errors.first?.hasPrefix("until must be a time between") == true)
            } catch {
                Issue.record("\(seconds): \(error)")
            }
        }
    }

    @Test func theRangesEdgesAsRFC3339() throws {
        #expect(try SuiteTime.parse("0001-01-01T00:00:00Z", field: "from").isStorable)
        #expect(try SuiteTime.parse("9999-12-31T23:59:59.999Z", field: "to").isStorable)
        #expect(throws: APIError.self) { try SuiteTime.parse("-62135769601", field: "from") }
        #expect(throws: APIError.self) { try SuiteTime.parse("253402300800", field: "to") }
    }

    /// The store's backstop for a time no edge refused: it saturates instead of trapping.
    @Test func microsecondsSaturateBeyondInt64() {
        #expect(Date(timeIntervalSince1970: 1e20).microsecondsSinceEpoch == .max)
        #expect(Date(timeIntervalSince1970: -1e20).microsecondsSinceEpoch == .min)
        #expect(Date(timeIntervalSince1970: 1.5).microsecondsSinceEpoch == 1_500_000)
    }
}
