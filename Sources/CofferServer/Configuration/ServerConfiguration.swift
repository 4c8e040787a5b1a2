public import CofferAccess
import CofferHTTP
public import CofferRotation
public import CofferStore
import CofferSystem
import Foundation

/// Everything `coffer serve` needs, resolved from flags, then `COFFER_*` environment variables, then an
/// optional JSON config file, then defaults (in that order of precedence).
public struct ServerConfiguration: Sendable {
    /// Log line format.
    public enum LogFormat: String, Sendable, CaseIterable {
        case text
        case json
    }

    /// Where a setting's value came from, printed at start-up.
    public enum Source: String, Sendable {
        case flag, environment, file, `default`
    }

    public var host: String
    public var port: Int
    public var database: DatabaseLocation
    /// A streaming standby of `database` (PostgreSQL only) that serves this instance's read-only requests;
    /// `nil`: everything reads the primary. See Docs/SCALING.md.
    public var readReplica: PostgresConnectionString?
    /// Whether a change's answer carries `X-Vault-Index` on PostgreSQL (the WAL position is read with each
    /// COMMIT, so it costs no round trip): on by default; off leaves the header out.
    public var consistencyIndex: Bool
    /// PostgreSQL: connections in this instance's pool (`database_connections`, and as many again to a read
    /// replica) and whether statements are prepared (`database_prepared_statements`; off behind a
    /// transaction-mode pooler). Docs/SCALING.md has the connection budget.
    public var postgresPool: PostgresDatabase.Configuration
    public var logFormat: LogFormat
    public var logLevel: String
    /// Reported by health as `cluster_name` when the instance row is first created.
    public var clusterName: String?
    /// A file holding the unseal key (base64 or hex), read at start-up to unseal: for automation.
    public var unsealKeyFile: String?
    /// Where signed audit checkpoints are also written: a file path, `-` for standard output, or `nil`
    /// for the service log.
    public var auditWitness: String?
    /// How long a request waits for its audit entry to be committed before it fails with 503.
    public var auditTimeout: Duration
    /// An extra JSON-lines copy of every committed audit entry: a file path, or `-` for standard output.
    public var auditLogFile: String?
    /// The directory `sys/audit` file devices may write in; `nil` refuses file devices.
    public var auditDeviceDir: String?
    /// The socket addresses `sys/audit` socket devices may connect to; empty refuses socket devices.
    public var auditDeviceSockets: [String]
    /// Free bytes the SQLite database's file system keeps for reads: below it, changes are refused (0: no floor).
    public var storageMinFreeBytes: UInt64
    /// PEM certificate chain and private key of the TLS listener; both or neither.
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// PEM CA bundle: when set, clients must present a certificate it signed (mutual TLS).
    public var tlsClientCAFile: String?
    /// Allows plain HTTP on an address other than loopback (secrets would cross the network in the clear).
    public var insecureListen: Bool
    /// Seconds a rotation's lock lasts without renewal: a run that died is taken over after this.
    public var rotationLockTTL: Int64
    /// Seconds the `previous` version stays readable after a rotation, while clients move to the new value.
    public var rotationPreviousGrace: Int64
    /// Whether the service runs due rotations itself (the rotation scheduler); off, only `make rotate` rotates.
    public var rotationScheduler: Bool
    /// Seconds between the scheduler's checks for due rotations.
    public var rotationCheckInterval: Int64
    /// Seconds between evaluations of the alert rules (Prometheus's `evaluation_interval`).
    public var alertEvaluationInterval: Int64
    /// `host:port` pairs webhook rotators may call; empty refuses webhook rotation.
    public var rotationWebhookHosts: [String]
    /// PEM CAs webhook targets' certificates are checked against (default: the system's).
    public var rotationWebhookCAFile: String?
    /// The folder whose programs command rotators may run; nil refuses command rotation.
    public var rotationCommandDir: String?
    /// The folder the audit trail's sealed segments are archived into (``RetentionPolicy/auditTrail``).
    public var auditArchiveDir: String
    /// How long the tables that grow with time keep their rows.
    public var retention: RetentionPolicy
    /// The model registry's artifact folder (content-addressed blobs). Instances sharing one PostgreSQL
    /// must share this folder too.
    public var artifactPath: String
    /// Bytes the persistent cache's memory tier may hold.
    public var cacheMemoryBytes: Int
    /// The folder whose programs `command` health checks may run; nil: command checks are refused (a token
    /// that may write health checks must not be able to run any program as the service).
    public var healthCommandDir: String?
    /// Where each setting came from.
    public var sources: [String: Source]

    /// Whether the listener speaks TLS.
    public var usesTLS: Bool { tlsCertFile != nil }

    /// Whether `host` is a loopback address, where plain HTTP does not leave the machine.
    public var listensOnLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// One setting as given on the command line, in the environment and in the file.
    public struct Inputs: Sendable {
        public var listen: String?
        public var database: String?
        public var readReplica: String?
        /// `"true"` or `"false"`.
        public var consistencyIndex: String?
        public var databaseConnections: String?
        /// `"true"` or `"false"`.
        public var databasePreparedStatements: String?
        public var logFormat: String?
        public var logLevel: String?
        public var clusterName: String?
        public var unsealKeyFile: String?
        public var auditWitness: String?
        public var auditTimeout: String?
        public var auditLogFile: String?
        public var tlsCertFile: String?
        public var tlsKeyFile: String?
        public var tlsClientCAFile: String?
        /// `"true"` or `"false"`.
        public var insecureListen: String?
        public var rotationLockTTL: String?
        public var rotationPreviousGrace: String?
        /// `"true"` or `"false"`.
        public var rotationScheduler: String?
        public var rotationCheckInterval: String?
        public var alertEvaluationInterval: String?
        /// Comma-separated `host:port`.
        public var rotationWebhookHosts: String?
        public var rotationWebhookCAFile: String?
        public var rotationCommandDir: String?
        public var auditArchiveDir: String?
        /// `name=duration` pairs.
        public var retention: String?
        public var artifactPath: String?
        public var cacheMemory: String?
        public var healthCommandDir: String?
        public var auditDeviceDir: String?
        /// Comma-separated.
        public var auditDeviceSockets: String?
        /// Bytes.
        public var storageMinFree: String?

        public init(
            listen: String? = nil, database: String? = nil, logFormat: String? = nil, logLevel: String? = nil,
            clusterName: String? = nil, unsealKeyFile: String? = nil, auditWitness: String? = nil, auditTimeout: String? = nil,
            auditLogFile: String? = nil, tlsCertFile: String? = nil, tlsKeyFile: String? = nil, tlsClientCAFile: String? = nil,
            insecureListen: String? = nil, rotationLockTTL: String? = nil, rotationPreviousGrace: String? = nil,
            artifactPath: String? = nil, cacheMemory: String? = nil, healthCommandDir: String? = nil,
            auditDeviceDir: String? = nil, auditDeviceSockets: String? = nil, storageMinFree: String? = nil,
            rotationScheduler: String? = nil, rotationCheckInterval: String? = nil, rotationWebhookHosts: String? = nil,
            rotationWebhookCAFile: String? = nil, rotationCommandDir: String? = nil, retention: String? = nil,
            auditArchiveDir: String? = nil, readReplica: String? = nil, consistencyIndex: String? = nil,
            databaseConnections: String? = nil, databasePreparedStatements: String? = nil, alertEvaluationInterval: String? = nil
        ) {
            self.alertEvaluationInterval = alertEvaluationInterval
            self.databaseConnections = databaseConnections
            self.databasePreparedStatements = databasePreparedStatements
            self.readReplica = readReplica
            self.consistencyIndex = consistencyIndex
            self.retention = retention
            self.auditArchiveDir = auditArchiveDir
            self.rotationWebhookHosts = rotationWebhookHosts
            self.rotationWebhookCAFile = rotationWebhookCAFile
            self.rotationCommandDir = rotationCommandDir
            self.rotationScheduler = rotationScheduler
            self.rotationCheckInterval = rotationCheckInterval
            self.storageMinFree = storageMinFree
            self.healthCommandDir = healthCommandDir
            self.auditDeviceDir = auditDeviceDir
            self.auditDeviceSockets = auditDeviceSockets
            self.artifactPath = artifactPath
            self.cacheMemory = cacheMemory
            self.rotationLockTTL = rotationLockTTL
            self.rotationPreviousGrace = rotationPreviousGrace
            self.tlsCertFile = tlsCertFile
            self.tlsKeyFile = tlsKeyFile
            self.tlsClientCAFile = tlsClientCAFile
            self.insecureListen = insecureListen
            self.auditLogFile = auditLogFile
            self.unsealKeyFile = unsealKeyFile
            self.auditWitness = auditWitness
            self.auditTimeout = auditTimeout
            self.listen = listen
            self.database = database
            self.logFormat = logFormat
            self.logLevel = logLevel
            self.clusterName = clusterName
        }

        /// Reads `COFFER_LISTEN`, `COFFER_DATABASE_URL`, `COFFER_LOG_FORMAT`, `COFFER_LOG_LEVEL`, `COFFER_CLUSTER_NAME`.
        public static func environment(_ environment: [String: String]) -> Inputs {
            func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
            return Inputs(
                listen: value("COFFER_LISTEN"), database: value("COFFER_DATABASE_URL"), logFormat: value("COFFER_LOG_FORMAT"),
                logLevel: value("COFFER_LOG_LEVEL"), clusterName: value("COFFER_CLUSTER_NAME"),
                unsealKeyFile: value("COFFER_UNSEAL_KEY_FILE"), auditWitness: value("COFFER_AUDIT_WITNESS"),
                auditTimeout: value("COFFER_AUDIT_TIMEOUT"), auditLogFile: value("COFFER_AUDIT_LOG_FILE"),
                tlsCertFile: value("COFFER_TLS_CERT_FILE"), tlsKeyFile: value("COFFER_TLS_KEY_FILE"),
                tlsClientCAFile: value("COFFER_TLS_CLIENT_CA_FILE"), insecureListen: value("COFFER_INSECURE_LISTEN"),
                rotationLockTTL: value("COFFER_ROTATION_LOCK_TTL"), rotationPreviousGrace: value("COFFER_ROTATION_PREVIOUS_GRACE"),
                artifactPath: value("COFFER_ARTIFACT_PATH"), cacheMemory: value("COFFER_CACHE_MEMORY"),
                healthCommandDir: value("COFFER_HEALTH_COMMAND_DIR"), auditDeviceDir: value("COFFER_AUDIT_DEVICE_DIR"),
                auditDeviceSockets: value("COFFER_AUDIT_DEVICE_SOCKETS"), storageMinFree: value("COFFER_STORAGE_MIN_FREE"),
                rotationScheduler: value("COFFER_ROTATION_SCHEDULER"), rotationCheckInterval: value("COFFER_ROTATION_CHECK_INTERVAL"),
                rotationWebhookHosts: value("COFFER_ROTATION_WEBHOOK_HOSTS"),
                rotationWebhookCAFile: value("COFFER_ROTATION_WEBHOOK_CA_FILE"),
                rotationCommandDir: value("COFFER_ROTATION_COMMAND_DIR"), retention: value("COFFER_RETENTION"),
                auditArchiveDir: value("COFFER_AUDIT_ARCHIVE_DIR"), readReplica: value("COFFER_READ_REPLICA_URL"),
                consistencyIndex: value("COFFER_CONSISTENCY_INDEX"), databaseConnections: value("COFFER_DATABASE_CONNECTIONS"),
                databasePreparedStatements: value("COFFER_DATABASE_PREPARED_STATEMENTS"),
                alertEvaluationInterval: value("COFFER_ALERT_EVALUATION_INTERVAL"))
        }

        /// Reads a JSON object with the keys `listen`, `database`, `log_format`, `log_level`, `cluster_name`.
        /// - Throws: ``ConfigurationError`` naming the file and the key that is wrong.
        public static func file(at path: String) throws -> Inputs {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError("cannot read the config file \(path): check the path given by --config or COFFER_CONFIG")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ConfigurationError("the config file \(path) is not a JSON object: write it as {\"listen\": \"127.0.0.1:8200\", ...}")
            }
            let known: Set = [
                "listen", "database", "log_format", "log_level", "cluster_name", "unseal_key_file", "audit_witness", "audit_timeout",
                "audit_log_file", "tls_cert_file", "tls_key_file", "tls_client_ca_file", "insecure_listen",
                "rotation_lock_ttl", "rotation_previous_grace", "artifact_path", "cache_memory", "health_command_dir",
                "audit_device_dir", "audit_device_sockets", "storage_min_free", "rotation_scheduler", "rotation_check_interval",
                "rotation_webhook_hosts", "rotation_webhook_ca_file", "rotation_command_dir", "retention", "audit_archive_dir",
                "read_replica", "consistency_index", "database_connections", "database_prepared_statements",
                "alert_evaluation_interval"
            ]
            if let unknown = object.keys.filter({ !known.contains($0) }).sorted().first {
                throw ConfigurationError(
                    "the config file \(path) has an unknown key \"\(unknown)\": known keys are \(known.sorted().joined(separator: ", "))")
            }
            func flag(_ key: String) throws -> String? {
                try object[key].map { value in
                    guard let flag = value as? Bool else { throw ConfigurationError("\(path): \"\(key)\" must be true or false") }
                    return String(flag)
                }
            }
            func string(_ key: String) throws -> String? {
                guard let value = object[key] else { return nil }
                guard let text = value as? String else { throw ConfigurationError("\(path): \"\(key)\" must be a string") }
                return text
            }
            return Inputs(
                listen: try string("listen"), database: try string("database"), logFormat: try string("log_format"),
                logLevel: try string("log_level"), clusterName: try string("cluster_name"),
                unsealKeyFile: try string("unseal_key_file"), auditWitness: try string("audit_witness"),
                auditTimeout: try string("audit_timeout"), auditLogFile: try string("audit_log_file"),
                tlsCertFile: try string("tls_cert_file"), tlsKeyFile: try string("tls_key_file"),
                tlsClientCAFile: try string("tls_client_ca_file"),
                insecureListen: try flag("insecure_listen"), rotationLockTTL: try string("rotation_lock_ttl"),
                rotationPreviousGrace: try string("rotation_previous_grace"),
                artifactPath: try string("artifact_path"), cacheMemory: try string("cache_memory"),
                healthCommandDir: try string("health_command_dir"), auditDeviceDir: try string("audit_device_dir"),
                auditDeviceSockets: try string("audit_device_sockets"), storageMinFree: try string("storage_min_free"),
                rotationScheduler: try flag("rotation_scheduler"), rotationCheckInterval: try string("rotation_check_interval"),
                rotationWebhookHosts: try string("rotation_webhook_hosts"), rotationWebhookCAFile: try string("rotation_webhook_ca_file"),
                rotationCommandDir: try string("rotation_command_dir"), retention: try string("retention"),
                auditArchiveDir: try string("audit_archive_dir"), readReplica: try string("read_replica"),
                consistencyIndex: try flag("consistency_index"), databaseConnections: try string("database_connections"),
                databasePreparedStatements: try flag("database_prepared_statements"),
                alertEvaluationInterval: try string("alert_evaluation_interval"))
        }
    }

    /// The default listener: Vault's port, on loopback only.
    public static let defaultListen = "127.0.0.1:8200"

    /// Merges the three inputs by precedence and validates the result.
    /// - Throws: ``ConfigurationError`` or ``StoreError`` (for a malformed database URL) with what to do.
    public init(flags: Inputs, environment: Inputs, file: Inputs) throws {
        var sources: [String: Source] = [:]
        func pick(_ name: String, _ keyPath: KeyPath<Inputs, String?>, default fallback: String?) -> String? {
            for (source, inputs) in [(Source.flag, flags), (.environment, environment), (.file, file)] {
                if let value = inputs[keyPath: keyPath] {
                    sources[name] = source
                    return value
                }
            }
            sources[name] = .default
            return fallback
        }
        func boolean(_ name: String, _ keyPath: KeyPath<Inputs, String?>, default fallback: Bool) throws -> Bool {
            let text = pick(name, keyPath, default: String(fallback)) ?? String(fallback)
            guard let value = Bool(text) else { throw ConfigurationError("\(name) must be true or false, not \"\(text)\"") }
            return value
        }
        let listen = pick("listen", \.listen, default: Self.defaultListen) ?? Self.defaultListen
        (host, port) = try Self.parseListen(listen)
        database = try DatabaseLocation(
            parsing: pick("database", \.database, default: DatabaseLocation.defaultURL) ?? DatabaseLocation.defaultURL)
        if let text = pick("read_replica", \.readReplica, default: nil) {
            guard case .postgres = database, case .postgres(let replica) = try DatabaseLocation(parsing: text) else {
                throw ConfigurationError(
                    "read_replica is a PostgreSQL standby of a PostgreSQL database: give both as postgres:// URLs (SQLite has no replicas)")
            }
            readReplica = replica
        } else {
            readReplica = nil
        }
        consistencyIndex = try boolean("consistency_index", \.consistencyIndex, default: true)
        let connections = pick("database_connections", \.databaseConnections, default: "8") ?? "8"
        guard let poolSize = Int(connections), (1...1000).contains(poolSize) else {
            throw ConfigurationError("database_connections must be a pool size from 1 to 1000, not \"\(connections)\"")
        }
        postgresPool = PostgresDatabase.Configuration(
            connections: poolSize,
            preparedStatements: try boolean("database_prepared_statements", \.databasePreparedStatements, default: true))
        let format = pick("log_format", \.logFormat, default: "text") ?? "text"
        guard let logFormat = LogFormat(rawValue: format) else {
            throw ConfigurationError("unknown log format \"\(format)\": use text or json")
        }
        self.logFormat = logFormat
        let level = pick("log_level", \.logLevel, default: "info") ?? "info"
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            throw ConfigurationError("unknown log level \"\(level)\": use trace, debug, info, notice, warning, error or critical")
        }
        self.logLevel = level
        clusterName = pick("cluster_name", \.clusterName, default: nil)
        unsealKeyFile = pick("unseal_key_file", \.unsealKeyFile, default: nil)
        let timeout = pick("audit_timeout", \.auditTimeout, default: "2000") ?? "2000"
        guard let milliseconds = Int(timeout), (10...60_000).contains(milliseconds) else {
            throw ConfigurationError("audit_timeout must be milliseconds from 10 to 60000, not \"\(timeout)\"")
        }
        auditTimeout = .milliseconds(milliseconds)
        auditLogFile = pick("audit_log_file", \.auditLogFile, default: nil)
        tlsCertFile = pick("tls_cert_file", \.tlsCertFile, default: nil)
        tlsKeyFile = pick("tls_key_file", \.tlsKeyFile, default: nil)
        tlsClientCAFile = pick("tls_client_ca_file", \.tlsClientCAFile, default: nil)
        insecureListen = try boolean("insecure_listen", \.insecureListen, default: false)
        func seconds(_ name: String, _ keyPath: KeyPath<Inputs, String?>, default fallback: Int64, range: ClosedRange<Int64>) throws
            -> Int64
        {
            let text = pick(name, keyPath, default: String(fallback)) ?? String(fallback)
            guard let value = Int64(text), range.contains(value) else {
                throw ConfigurationError("\(name) must be seconds from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
            }
            return value
        }
        rotationLockTTL = try seconds("rotation_lock_ttl", \.rotationLockTTL, default: 60, range: 1...3600)
        rotationPreviousGrace = try seconds("rotation_previous_grace", \.rotationPreviousGrace, default: 86_400, range: 0...31_536_000)
        rotationScheduler = try boolean("rotation_scheduler", \.rotationScheduler, default: true)
        rotationCheckInterval = try seconds("rotation_check_interval", \.rotationCheckInterval, default: 10, range: 1...3600)
        alertEvaluationInterval = try seconds("alert_evaluation_interval", \.alertEvaluationInterval, default: 10, range: 1...3600)
        rotationWebhookHosts = (pick("rotation_webhook_hosts", \.rotationWebhookHosts, default: nil) ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for host in rotationWebhookHosts where host.split(separator: ":").last.flatMap({ Int($0) }) == nil || !host.contains(":") {
            throw ConfigurationError("rotation_webhook_hosts lists host:port pairs, such as api.example.com:443, not \"\(host)\"")
        }
        rotationWebhookCAFile = pick("rotation_webhook_ca_file", \.rotationWebhookCAFile, default: nil)
        rotationCommandDir = pick("rotation_command_dir", \.rotationCommandDir, default: nil)
        retention = try pick("retention", \.retention, default: nil).map(RetentionPolicy.init(parsing:)) ?? .defaults
        let defaultArtifacts: String =
            switch database {
            case .sqlite(let path):
                ((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent) + "/artifacts"
            default: "./coffer-data/artifacts"
            }
        artifactPath = pick("artifact_path", \.artifactPath, default: defaultArtifacts) ?? defaultArtifacts
        // The witness is a file by default (beside the data: move it to another disk or a log shipper's input),
        // so that `coffer audit verify` has something outside the database to compare with.
        let parent = (artifactPath as NSString).deletingLastPathComponent
        let defaultWitness = (parent.isEmpty ? "." : parent) + "/audit-witness.jsonl"
        auditWitness = pick("audit_witness", \.auditWitness, default: defaultWitness) ?? defaultWitness
        let defaultArchive = (parent.isEmpty ? "." : parent) + "/audit-archive"
        auditArchiveDir = pick("audit_archive_dir", \.auditArchiveDir, default: defaultArchive) ?? defaultArchive
        let memory = pick("cache_memory", \.cacheMemory, default: String(64 << 20)) ?? String(64 << 20)
        guard let cacheMemoryBytes = Int(memory), (0...(1 << 40)).contains(cacheMemoryBytes) else {
            throw ConfigurationError(
                "cache_memory must be the bytes the cache may hold in memory, from 0 to 1099511627776, not \"\(memory)\"")
        }
        self.cacheMemoryBytes = cacheMemoryBytes
        healthCommandDir = pick("health_command_dir", \.healthCommandDir, default: nil)
        auditDeviceDir = pick("audit_device_dir", \.auditDeviceDir, default: nil)
        auditDeviceSockets = (pick("audit_device_sockets", \.auditDeviceSockets, default: nil) ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let floor = pick("storage_min_free", \.storageMinFree, default: String(256 << 20)) ?? String(256 << 20)
        guard let storageMinFreeBytes = UInt64(floor), storageMinFreeBytes <= 1 << 50 else {
            throw ConfigurationError(
                "storage_min_free must be the bytes of free space kept for reads on the SQLite database's disk (0 for none), "
                    + "such as 67108864 for 64 MiB, not \"\(floor)\"")
        }
        self.storageMinFreeBytes = storageMinFreeBytes
        guard (tlsCertFile == nil) == (tlsKeyFile == nil) else {
            throw ConfigurationError("--tls-cert-file and --tls-key-file go together: give both (PEM files) or neither")
        }
        if tlsClientCAFile != nil && tlsCertFile == nil {
            throw ConfigurationError("--tls-client-ca-file needs TLS: give --tls-cert-file and --tls-key-file too")
        }
        self.sources = sources
        guard usesTLS || listensOnLoopback || insecureListen else {
            throw ConfigurationError(
                "refusing plain HTTP on \(host):\(port): secrets would cross the network in the clear. "
                    + "Give --tls-cert-file and --tls-key-file, listen on 127.0.0.1, "
                    + "or pass --insecure-listen if something in front terminates TLS"
            )
        }
    }

    /// How the Gate writes the audit trail.
    public var auditConfiguration: AuditConfiguration {
        let witness: AuditWitness =
            switch auditWitness {
            case nil, "log": .log
            case "-": .stdout
            case let path?: .file(path)
            }
        let copies: [AuditCopy] =
            switch auditLogFile {
            case nil: []
            case "-": [.stdout]
            case let path?: [.file(path)]
            }
        return AuditConfiguration(
            durableWithin: auditTimeout, witness: witness, copies: copies,
            deviceLimits: AuditDeviceLimits(fileDirectory: auditDeviceDir, socketAddresses: Set(auditDeviceSockets)))
    }

    /// The free-space floor of the SQLite database's folder; `nil` for PostgreSQL (its server's disk) or a floor of 0.
    public var storageFloor: StorageFloor? {
        guard case .sqlite(let path) = database, storageMinFreeBytes > 0 else { return nil }
        let folder = (path as NSString).deletingLastPathComponent
        return StorageFloor(folder: folder.isEmpty ? "." : folder, minimumFreeBytes: storageMinFreeBytes)
    }

    /// What rotators may reach: the webhook hosts and CA, the command folder.
    public var rotatorLimits: RotatorLimits {
        RotatorLimits(webhookHosts: Set(rotationWebhookHosts), webhookCAFile: rotationWebhookCAFile, commandDirectory: rotationCommandDir)
    }

    /// The witness file, when checkpoints go to one.
    public var auditWitnessFile: String? {
        auditWitness.flatMap { $0 == "-" || $0 == "log" ? nil : $0 }
    }

    /// The settings as printed at start-up: no password, no secret.
    public var summary: [(String, String)] {
        let replica = readReplica.map { "\($0) (reads that change nothing)" } ?? "(none: every read goes to the primary)"
        let settings: [(String, String)] = [
            ("listen", "\(host):\(port)"),
            ("database", database.description),
            ("log_format", logFormat.rawValue),
            ("log_level", logLevel),
            ("cluster_name", clusterName ?? "(generated on first start)"),
            ("unseal_key_file", unsealKeyFile ?? "(none: unseal with coffer operator unseal)"),
            ("audit_witness", auditWitness ?? "(the service log)"),
            ("audit_timeout", "\(auditTimeout)"),
            ("audit_log_file", auditLogFile ?? "(none: the database only)"),
            ("tls", tlsCertFile.map { "\($0) (key \(tlsKeyFile ?? "?"))" } ?? "(off: plain HTTP)"),
            ("tls_client_ca_file", tlsClientCAFile ?? "(none: no client certificates asked)"),
            ("rotation_lock_ttl", "\(rotationLockTTL) s"),
            ("rotation_previous_grace", "\(rotationPreviousGrace) s"),
            ("artifact_path", artifactPath),
            ("cache_memory", "\(cacheMemoryBytes) bytes"),
            ("health_command_dir", healthCommandDir ?? "(none: command health checks are refused)"),
            ("audit_device_dir", auditDeviceDir ?? "(none: sys/audit file devices are refused)"),
            (
                "audit_device_sockets",
                auditDeviceSockets.isEmpty ? "(none: sys/audit socket devices are refused)" : auditDeviceSockets.joined(separator: ",")
            ),
            ("storage_min_free", storageMinFreeBytes == 0 ? "0 (no floor)" : "\(storageMinFreeBytes) bytes (SQLite's disk only)"),
            ("rotation_scheduler", rotationScheduler ? "on, every \(rotationCheckInterval) s" : "off (make rotate only)"),
            ("alert_evaluation_interval", "\(alertEvaluationInterval) s"),
            (
                "rotation_webhook_hosts",
                rotationWebhookHosts.isEmpty ? "(none: webhook rotators are refused)" : rotationWebhookHosts.joined(separator: ",")
            ),
            ("rotation_command_dir", rotationCommandDir ?? "(none: command rotators are refused)"),
            ("read_replica", replica),
            ("consistency_index", consistencyIndex ? "on (X-Vault-Index on PostgreSQL)" : "off"),
            ("database_connections", "\(postgresPool.connections) (PostgreSQL's pool)"),
            ("database_prepared_statements", postgresPool.preparedStatements ? "on" : "off (for a transaction-mode pooler)"),
            ("retention", retention.description),
            ("audit_archive_dir", retention.auditTrail == 0 ? "\(auditArchiveDir) (unused: retention audit=0)" : auditArchiveDir)
        ]
        return settings.map { key, value in (key, "\(value) [\(sources[key]?.rawValue ?? "default")]") }
    }

    /// Parses `HOST:PORT` (IPv6 as `[::1]:8200`).
    static func parseListen(_ text: String) throws -> (String, Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ConfigurationError("malformed listen address \"\(text)\": use HOST:PORT, e.g. 127.0.0.1:8200 or [::1]:8200")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ConfigurationError("malformed listen address \"\(text)\": use HOST:PORT, e.g. 127.0.0.1:8200")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65_535).contains(port) else {
            throw ConfigurationError("malformed listen address \"\(text)\": use HOST:PORT with a port from 0 to 65535")
        }
        return (String(host), port)
    }
}

/// A configuration value that cannot be used; the message says which and what to do.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
