import CofferHTTP
import Foundation
import Testing

/// No route, module or helper decodes a request path a second time: the path is decoded once, before routing
/// (CanonicalPathRouter), and everything below takes it from the grant. Reading the sources is the check that
/// fails if someone brings a second decoding back (it was a policy bypass: the Gate decided on the encoded path,
/// the route read the decoded one).
struct NoSecondDecodingTests {
    @Test func noRouteDecodesThePathItself() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var offenders: [String] = []
        for target in [
            "CofferServer", "CofferSystem", "CofferEngines", "CofferHTTP", "CofferRotation", "CofferModels", "CofferMetrics",
            "CofferFeatures",
            "CofferErrorLog",
            "CofferCache", "CofferHealth"
        ] {
            let folder = root.appendingPathComponent("Sources/\(target)")
            let files =
                FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            #expect(!files.isEmpty, "no sources found under \(folder.path)")
            for file in files {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for marker in ["removingPercentEncoding", "decodeRequest(", "removingPercent"] where text.contains(marker) {
                    if target == "CofferHTTP", file == "CanonicalPathRouter.swift" { continue }
                    offenders.append("\(target)/\(file): \(marker)")
                }
            }
        }
        #expect(offenders.isEmpty, "second decoding of the request path: \(offenders)")
    }
}
