/// The metric store's answers as a client reads them (the wire's field names).
enum Metrics {
    /// `POST coffer/metrics/points`: how many points were stored and how many were already there.
    struct Ingested: Decodable {
        let stored: Int
        let duplicates: Int
    }

    /// One series of `coffer/metrics/query`: its labels, where it was computed from, `[time, value]` pairs.
    struct Series: Decodable {
        let labels: [String: String]
        let source: String
        let values: [[Double]]

        /// The values alone, oldest first.
        var numbers: [Double] { values.map { $0[1] } }
    }

    /// `coffer/metrics/query`.
    struct Query: Decodable { let result: [Series] }

    /// `coffer/metrics/series?name=…`: the label sets stored for a name.
    struct Listed: Decodable {
        struct Entry: Decodable { let labels: [String: String] }
        let series: [Entry]
    }
}
