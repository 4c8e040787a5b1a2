import Foundation

/// The console's charts as SVG drawn on the server: no script, no external asset, nothing the
/// Content-Security-Policy has to allow. Only numbers and times this code formats go into the markup (names and
/// labels are drawn by the templates, which escape them), so a chart cannot carry markup from the data.
enum ConsoleCharts {
    /// A share of time up, one per bucket, oldest first; `nil` where nothing was observed.
    struct UptimeBucket: Equatable {
        let start: Date
        let percent: Double?
    }

    /// An uptime bar: one cell per bucket, green at 100 %, amber from 99 %, red below, grey without data; each
    /// cell's tooltip gives its start and share.
    static func uptimeBar(_ buckets: [UptimeBucket], width: Double = 240, height: Double = 18) -> String {
        guard !buckets.isEmpty else { return "" }
        let cell = width / Double(buckets.count)
        var svg = """
            <svg class="uptime" viewBox="0 0 \(number(width)) \(number(height))" width="\(number(width))" height="\(number(height))" \
            role="img" aria-label="uptime, \(buckets.count) buckets">
            """
        for (index, bucket) in buckets.enumerated() {
            let fill: String
            let share: String
            switch bucket.percent {
            case nil: (fill, share) = ("#ced4da", "no data")
            case let value? where value >= 100: (fill, share) = ("#2f9e44", "100%")
            case let value? where value >= 99: (fill, share) = ("#f08c00", String(format: "%.2f%%", value))
            case let value?: (fill, share) = ("#e03131", String(format: "%.2f%%", value))
            }
            svg += """
                <rect x="\(number(Double(index) * cell + 0.5))" y="0" width="\(number(max(cell - 1, 0.5)))" height="\(number(height))" \
                fill="\(fill)"><title>\(ConsoleRoutes.time(bucket.start)): \(share)</title></rect>
                """
        }
        return svg + "</svg>"
    }

    /// The colours of a line chart's series, in order (a legend draws the same ones with ``swatch(_:)``).
    static let palette = ["#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c", "#5c940d"]

    /// A line chart of `series` (each a list of time and value, any order) over `from…to`: one polyline per
    /// series in the palette's colours, the value axis from 0 (or the lowest value when negative) to the highest,
    /// its two ends labelled, and the range's two ends as times. An empty chart says it has no points.
    static func lineChart(_ series: [[(Date, Double)]], from: Date, to: Date, width: Double = 720, height: Double = 240) -> String {
        let margin = (left: 64.0, right: 12.0, top: 12.0, bottom: 28.0)
        let plot = (width: width - margin.left - margin.right, height: height - margin.top - margin.bottom)
        let values = series.flatMap { $0.map(\.1) }.filter(\.isFinite)
        var svg = """
            <svg class="chart" viewBox="0 0 \(number(width)) \(number(height))" role="img" aria-label="chart, \(series.count) series">
            <rect x="\(number(margin.left))" y="\(number(margin.top))" width="\(number(plot.width))" height="\(number(plot.height))" \
            fill="#ffffff" stroke="#dee2e6"/>
            """
        guard let highest = values.max(), let lowest = values.min(), to > from else {
            return svg + """
                <text x="\(number(width / 2))" y="\(number(height / 2))" text-anchor="middle" fill="#5c6470">no points in this range\
                </text></svg>
                """
        }
        let bottom = min(0, lowest)
        let top = highest > bottom ? highest : bottom + 1
        let span = to.timeIntervalSince(from)
        func x(_ time: Date) -> Double { margin.left + plot.width * min(max(time.timeIntervalSince(from) / span, 0), 1) }
        func y(_ value: Double) -> Double { margin.top + plot.height * (1 - (value - bottom) / (top - bottom)) }
        for (index, points) in series.enumerated() {
            let drawn = points.filter { $0.1.isFinite }.sorted { $0.0 < $1.0 }
            guard !drawn.isEmpty else { continue }
            let colour = palette[index % palette.count]
            if drawn.count == 1 {
                svg += "<circle cx=\"\(number(x(drawn[0].0)))\" cy=\"\(number(y(drawn[0].1)))\" r=\"3\" fill=\"\(colour)\"/>"
            } else {
                let coordinates = drawn.map { "\(number(x($0.0))),\(number(y($0.1)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(coordinates)\"/>"
            }
        }
        let labels = [
            (margin.left - 6, margin.top + 4, "end", axisValue(top)), (margin.left - 6, margin.top + plot.height, "end", axisValue(bottom)),
            (margin.left, height - 8, "start", ConsoleRoutes.time(from)), (width - margin.right, height - 8, "end", ConsoleRoutes.time(to))
        ]
        for (lx, ly, anchor, text) in labels {
            svg +=
                "<text x=\"\(number(lx))\" y=\"\(number(ly))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#5c6470\">\(text)</text>"
        }
        return svg + "</svg>"
    }

    /// A legend's colour square for the series at `index`.
    static func swatch(_ index: Int) -> String {
        "<svg class=\"swatch\" viewBox=\"0 0 10 10\" width=\"10\" height=\"10\">"
            + "<rect width=\"10\" height=\"10\" fill=\"\(palette[index % palette.count])\"/></svg>"
    }

    /// A coordinate with at most two decimals, never in exponent form.
    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(format: "%.2f", rounded)
    }

    /// An axis value as people read it, never in exponent form: `1.2k`, `3.4M`, `0.05`, `250µ`, `2n`.
    static func axisValue(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e15 { return String(format: "%.0fP", value / 1e15) }
        if magnitude >= 1e12 { return String(format: "%.1fT", value / 1e12) }
        if magnitude >= 1e9 { return String(format: "%.1fG", value / 1e9) }
        if magnitude >= 1e6 { return String(format: "%.1fM", value / 1e6) }
        if magnitude >= 1e4 { return String(format: "%.1fk", value / 1e3) }
        if magnitude >= 100 || value == value.rounded() { return String(format: "%.0f", value) }
        // %g writes an exponent below 1e-4, so smaller values take an SI prefix instead; and at 1,000 and over, so
        // the prefix is chosen from the value rounded to the three digits shown (9.995e-7 is 1µ, not 1e+03n).
        let shown = Double(String(format: "%.3g", value)) ?? value
        let shownMagnitude = abs(shown)
        if shownMagnitude >= 1e-3 { return String(format: "%.3g", shown) }
        if shownMagnitude >= 1e-6 { return String(format: "%.3gµ", shown * 1e6) }
        if shownMagnitude >= 1e-9 { return String(format: "%.3gn", shown * 1e9) }
        return value > 0 ? "≈0" : "-≈0"
    }
}
