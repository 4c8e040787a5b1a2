import CofferAccess
import CofferServer
import CofferStore
import Foundation
import Testing

struct ServerConfigurationTests {
    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let configuration = try ServerConfiguration(
            flags: .init(listen: "127.0.0.1:9000"),
            environment: .init(listen: "127.0.0.1:9001", database: "sqlite:/tmp/env.db"),
            file: .init(listen: "127.0.0.1:9002", database: "sqlite:/tmp/file.db", logFormat: "json")
        )
        #expect(configuration.port == 9000)
        #expect(configuration.database.description == "sqlite:/tmp/env.db")
        #expect(configuration.logFormat == .json)
        #expect(configuration.logLevel == "info")
        #expect(configuration.sources["listen"] == .flag)
        #expect(configuration.sources["database"] == .environment)
        #expect(configuration.sources["log_format"] == .file)
        #expect(configuration.sources["log_level"] == .default)
    }

    @Test func defaults() throws {
        let configuration = try ServerConfiguration(flags: .init(), environment: .init(), file: .init())
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8200)
        #expect(configuration.database.description == "sqlite:./coffer-data/coffer.db")
    }

    @Test func environmentVariables() throws {
        let inputs = ServerConfiguration.Inputs.environment([
            "COFFER_LISTEN": "[::1]:8300", "COFFER_LOG_LEVEL": "debug", "COFFER_DATABASE_URL": ""
        ])
        let configuration = try ServerConfiguration(flags: .init(), environment: inputs, file: .init())
        #expect(configuration.host == "::1" && configuration.port == 8300)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.sources["database"] == .default)
    }

    /// The scheduling cadences: the environment and the file set them, the summary says them, and a value out
    /// of range is refused with the range.
    @Test func cadences() throws {
        let configuration = try ServerConfiguration(
            flags: .init(),
            environment: .environment(["COFFER_ALERT_EVALUATION_INTERVAL": "2"]),
            file: .init(rotationCheckInterval: "30", alertEvaluationInterval: "60"))
        #expect(configuration.alertEvaluationInterval == 2 && configuration.rotationCheckInterval == 30)
        #expect(configuration.sources["alert_evaluation_interval"] == .environment)
        #expect(configuration.summary.contains { $0.0 == "alert_evaluation_interval" && $0.1 == "2 s [environment]" })
        let defaults = try ServerConfiguration(flags: .init(), environment: .init(), file: .init())
        #expect(defaults.alertEvaluationInterval == 10 && defaults.rotationCheckInterval == 10)
        for bad in ["0", "3601", "10s", "-1"] {
            #expect {
                try ServerConfiguration(flags: .init(), environment: .init(), file: .init(alertEvaluationInterval: bad))
            } throws: { "\($0)".contains("alert_evaluation_interval must be seconds from 1 to 3600") }
        }
    }

    @Test func summaryHidesThePassword() throws {
        let configuration = try ServerConfiguration(
            flags: .init(database: "postgres://coffer:hunter2@db:5432/coffer"), environment: .init(), file: .init())
        let printed = configuration.summary.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        #expect(!printed.contains("hunter2"))
        #expect(printed.contains("host=db"))
    }

    @Test(arguments: ["8200", "host:", ":8200", "host:99999", "[::1]8200", "host:port"])
    func malformedListenAddresses(listen: String) {
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(flags: .init(listen: listen), environment: .init(), file: .init())
        }
    }

    @Test func badLogSettings() {
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(flags: .init(logFormat: "xml"), environment: .init(), file: .init())
        }
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(flags: .init(logLevel: "loud"), environment: .init(), file: .init())
        }
    }

    @Test func auditSettings() throws {
        let defaults = try ServerConfiguration(flags: .init(), environment: .init(), file: .init())
        // The witness is a file beside the data by default; `log` keeps the service log as the witness.
        #expect(
            defaults.auditTimeout == .seconds(2) && defaults.auditConfiguration.witness == .file("./coffer-data/audit-witness.jsonl")
                && defaults.auditConfiguration.copies.isEmpty, "\(defaults.auditConfiguration.witness)")
        let logged = try ServerConfiguration(flags: .init(auditWitness: "log"), environment: .init(), file: .init())
        #expect(logged.auditConfiguration.witness == .log && logged.auditWitnessFile == nil)
        let set = try ServerConfiguration(
            flags: .init(auditWitness: "/var/witness/coffer.jsonl", auditTimeout: "500"),
            environment: .environment(["COFFER_AUDIT_LOG_FILE": "-"]), file: .init())
        #expect(set.auditTimeout == .milliseconds(500))
        #expect(set.auditConfiguration.witness == .file("/var/witness/coffer.jsonl") && set.auditWitnessFile == "/var/witness/coffer.jsonl")
        #expect(set.auditConfiguration.copies == [.stdout])
        for bad in ["0", "soon", "600000"] {
            #expect(throws: ConfigurationError.self) {
                try ServerConfiguration(flags: .init(auditTimeout: bad), environment: .init(), file: .init())
            }
        }
    }

    @Test func configFile() throws {
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: "/tmp"), create: true
        ).path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = "\(folder)/good.json", unknown = "\(folder)/unknown.json", notJSON = "\(folder)/bad.json"
        try Data(#"{"listen": "127.0.0.1:8400", "log_format": "json"}"#.utf8).write(to: URL(fileURLWithPath: good))
        try Data(#"{"listen": "127.0.0.1:8400", "listne": "typo"}"#.utf8).write(to: URL(fileURLWithPath: unknown))
        try Data("listen = 1".utf8).write(to: URL(fileURLWithPath: notJSON))
        let inputs = try ServerConfiguration.Inputs.file(at: good)
        #expect(inputs.listen == "127.0.0.1:8400" && inputs.logFormat == "json")
        #expect { try ServerConfiguration.Inputs.file(at: unknown) } throws: { "\($0)".contains("unknown key \"listne\"") }
        #expect { try ServerConfiguration.Inputs.file(at: notJSON) } throws: { "\($0)".contains("not a JSON object") }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.Inputs.file(at: "\(folder)/missing.json") }
    }
}
