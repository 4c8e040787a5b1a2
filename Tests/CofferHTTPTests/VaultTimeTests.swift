import CofferStore
import Foundation
import Testing
@testable import CofferHTTP

/// Vault's time and duration forms, against Foundation's formatter over many dates.
struct VaultTimeTests {
    @Test func timesMatchFoundationsRFC3339() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var generator = SystemRandomNumberGenerator()
        let samples =
            [0, 951_782_400, 1_767_225_599, 4_102_444_800, -86_400, 1_709_164_800] // epoch, 2000-02-29, 2025 end, 2100, 1969, 2024-02-29
            + (0..<2000).map { _ in Int.random(in: -2_000_000_000...5_000_000_000, using: &generator) }
        for seconds in samples {
            let micros = Int.random(in: 0..<1_000_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1e6)
            let text = VaultTime.format(date)
            let whole = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(text.hasPrefix(String(whole.dropLast())), "\(seconds)")
            #expect(text.hasSuffix(String(format: ".%06dZ", date.microsecondsSinceEpoch - Int64(seconds) * 1_000_000)), "\(seconds)")
        }
    }

    @Test func durationsAreGoShaped() {
        #expect(VaultTime.duration(0) == "0s")
        #expect(VaultTime.duration(45) == "45s")
        #expect(VaultTime.duration(1800) == "30m0s")
        #expect(VaultTime.duration(3600) == "1h0m0s")
        #expect(VaultTime.duration(2_592_000) == "720h0m0s")
    }
}
