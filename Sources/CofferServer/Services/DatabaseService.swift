import CofferHTTP
import CofferStore
import CofferSystem
import ServiceLifecycle

/// Closes the database when the service group shuts down; it is listed before the HTTP server, so it
/// stops after it, once no request can use the database any more.
struct DatabaseService: Service {
    let database: any Database

    func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }
}
