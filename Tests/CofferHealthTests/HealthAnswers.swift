/// The health monitor's answers as a client reads them (the wire's field names).
enum Health {
    /// `coffer/health`: the overall status, each component's, and each check's.
    struct Detail: Decodable {
        struct Check: Decodable {
            let name: String
            let status: String
            let details: String
            let uptime24h: Double?

            enum CodingKeys: String, CodingKey {
                case name, status, details
                case uptime24h = "uptime_24h"
            }
        }

        let status: String
        let components: [String: String]
        let checks: [Check]
    }

    /// `PUT coffer/health/checks`: what a checks file changed.
    struct Applied: Decodable { let added: [String] }

    /// `coffer/health/checks/<name>/results`, newest first.
    struct Results: Decodable {
        struct Result: Decodable { let status: String }
        let results: [Result]
    }

    /// `coffer/health/report`: the health overview view, one row per component.
    struct Overview: Decodable {
        struct Component: Decodable {
            let component: String
            let critical: Int
            let warning: Int
            let maintenance: Int
        }
        let components: [Component]
    }
}

/// The alerts' answers (the wire's field names).
enum Alerts {
    /// `coffer/health/alerts/history`, newest first.
    struct History: Decodable {
        struct Entry: Decodable {
            let state: String
            let delivery: String
        }
        let history: [Entry]
    }

    /// `coffer/health/alerts`: what fires now.
    struct Firing: Decodable {
        struct Alert: Decodable { let rule: String }
        let firing: [Alert]
    }
}
