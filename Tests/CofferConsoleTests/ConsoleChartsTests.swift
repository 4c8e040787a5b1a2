import Foundation
import Mustache
import PropertyBased
import Testing

@testable import CofferConsole

/// The console's server-drawn charts: whatever the data (negative, flat, one point, out of range, NaN), every
/// mark stays inside the plot, a higher value is drawn higher, and no number is written in a form SVG misreads.
@Suite struct ConsoleChartsTests {
    static let from = Date(timeIntervalSince1970: 1_800_000_000)
    static let to = from.addingTimeInterval(3600)
    /// Series of (seconds from `from`, value) with times a little outside the range too, and values of any sign.
    static let series = Gen<Int>.int(in: -600...4200).array(of: 0...30)
        .map { offsets in offsets.enumerated().map { index, offset in (offset, Double((index * 7919 % 2001) - 1000) * 3.7) } }
        .array(of: 1...8)

    /// The numbers in every `points="…"` and `cx`/`cy` of the chart's marks.
    static func marks(_ svg: String) -> [(x: Double, y: Double)] {
        var found: [(Double, Double)] = []
        for part in svg.components(separatedBy: "points=\"").dropFirst() {
            for pair in part.prefix(while: { $0 != "\"" }).split(separator: " ") {
                let numbers = pair.split(separator: ",").compactMap { Double($0) }
                if numbers.count == 2 { found.append((numbers[0], numbers[1])) }
            }
        }
        for part in svg.components(separatedBy: "<circle cx=\"").dropFirst() {
            let x = Double(part.prefix { $0 != "\"" })
            let y = part.components(separatedBy: "cy=\"").dropFirst().first.flatMap { Double($0.prefix { $0 != "\"" }) }
            if let x, let y { found.append((x, y)) }
        }
        return found
    }

    /// Whether a number in the markup is written with an exponent (`1e-05`, `3E+2`); colours (`#dee2e6`) are not numbers.
    static func hasExponent(_ text: String) -> Bool {
        let bytes = Array(text.components(separatedBy: "#").enumerated().map { $0 == 0 ? $1 : String($1.dropFirst(6)) }.joined().utf8)
        return bytes.indices.dropFirst().dropLast().contains { index in
            (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E"))
                && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index - 1])
                && ((UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) || bytes[index + 1] == UInt8(ascii: "-")
                    || bytes[index + 1] == UInt8(ascii: "+"))
        }
    }

    @Test func everyMarkStaysInsideThePlot() async {
        await propertyCheck(count: 200, input: Self.series) { raw in
            let series = raw.map { $0.map { (Self.from.addingTimeInterval(Double($0.0)), $0.1) } }
            let svg = ConsoleCharts.lineChart(series, from: Self.from, to: Self.to, width: 720, height: 240)
            let marks = Self.marks(svg)
            #expect(marks.count == series.reduce(0) { $0 + $1.count })
            #expect(marks.allSatisfy { (64...708).contains($0.x) && (12...212).contains($0.y) }, "\(marks.prefix(5))")
            #expect(!svg.lowercased().contains("nan") && !svg.contains("inf") && !Self.hasExponent(svg), "\(svg)")
            let drawnSeries = series.filter { !$0.isEmpty }.count
            #expect(svg.components(separatedBy: "<polyline").count - 1 + svg.components(separatedBy: "<circle").count - 1 == drawnSeries)
        }
    }

    @Test func aHigherValueIsDrawnHigher() async {
        await propertyCheck(count: 200, input: Gen<Int>.int(in: -100...100).map { $0 * 100 }.array(of: 2...40)) { values in
            let times = values.indices.map { Self.from.addingTimeInterval(Double($0) * 60) }
            let svg = ConsoleCharts.lineChart([Array(zip(times, values.map(Double.init)))], from: Self.from, to: Self.to)
            let ys = Self.marks(svg).map(\.y)
            #expect(ys.count == values.count)
            for (a, b) in zip(values.indices, values.indices.dropFirst()) where values[a] != values[b] {
                #expect((values[a] < values[b]) == (ys[a] > ys[b]), "\(values[a]) at \(ys[a]), \(values[b]) at \(ys[b])")
            }
        }
    }

    @Test func noPointsAndNonFiniteValuesDrawNothing() {
        let empty = ConsoleCharts.lineChart([[], [(Self.from, .nan), (Self.to, .infinity)]], from: Self.from, to: Self.to)
        #expect(empty.contains("no points in this range") && Self.marks(empty).isEmpty)
        let flat = ConsoleCharts.lineChart([[(Self.from, 5), (Self.to, 5)]], from: Self.from, to: Self.to)
        #expect(Self.marks(flat).count == 2 && !flat.lowercased().contains("nan"))
        let tiny = ConsoleCharts.lineChart([[(Self.from, 1e-9), (Self.to, 2e-9)]], from: Self.from, to: Self.to)
        #expect(!Self.hasExponent(tiny) && Self.hasExponent("x 1e-05") && !Self.hasExponent("stroke-width fill=\"#dee2e6\""), "\(tiny)")
    }

    /// Axis values over thirty orders of magnitude, both signs: never an exponent, never "nan" or "inf".
    @Test func axisValuesHaveNoExponent() async {
        await propertyCheck(count: 300, input: Gen<Int>.int(in: -30...30), Gen<Int>.int(in: 1...9999), Gen<Bool>.bool) {
            power, digits, negative in
            let value = Double(digits) * pow(10, Double(power)) * (negative ? -1 : 1)
            let text = ConsoleCharts.axisValue(value)
            #expect(!Self.hasExponent(text) && !text.lowercased().contains("nan") && !text.contains("inf"), "\(value): \(text)")
        }
    }

    /// A value that rounds up to the next prefix at three digits takes that prefix (the property above found
    /// 9.995e-7 written as "1e+03n").
    @Test func valuesRoundingUpTakeTheNextPrefix() {
        #expect(ConsoleCharts.axisValue(9.995000000000001e-07) == "1µ")
        #expect(ConsoleCharts.axisValue(9.996e-10) == "1n")
        #expect(ConsoleCharts.axisValue(-9.996e-4) == "-0.001")
        #expect(ConsoleCharts.axisValue(2.5e-4) == "250µ")
    }

    @Test func uptimeCellsFollowTheThresholds() {
        let buckets = [nil, 100, 99.5, 42].enumerated().map { index, percent in
            ConsoleCharts.UptimeBucket(start: Self.from.addingTimeInterval(Double(index) * 3600), percent: percent)
        }
        let svg = ConsoleCharts.uptimeBar(buckets)
        let fills = svg.components(separatedBy: "fill=\"").dropFirst().map { String($0.prefix(7)) }
        #expect(fills == ["#ced4da", "#2f9e44", "#f08c00", "#e03131"], "\(fills)")
        #expect(svg.contains("no data") && svg.contains("99.50%") && svg.contains("42.00%"))
    }

    /// A template that does not parse renders as "template error" at run time: each one is parsed here.
    @Test func everyTemplateParses() throws {
        let templates = [
            ConsoleTemplates.layout, ConsoleTemplates.signIn, ConsoleTemplates.overview, ConsoleTemplates.health, ConsoleTemplates.audit,
            ConsoleTemplates.auditVerify, ConsoleTemplates.leases, ConsoleTemplates.leaseRevoked, ConsoleTemplates.models,
            ConsoleTemplates.model, ConsoleTemplates.metrics, ConsoleTemplates.rotation, ConsoleTemplates.rotated, ConsoleTemplates.errors,
            ConsoleTemplates.secretMounts, ConsoleTemplates.secretFolder, ConsoleTemplates.secret, ConsoleTemplates.secretValue,
            ConsoleTemplates.issueChanged, ConsoleTemplates.refused
        ]
        for template in templates { _ = try MustacheTemplate(string: template) }
    }
}
