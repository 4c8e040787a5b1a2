public import CofferAccess
import CofferCrypto
public import CofferEngines
import CofferFoundation
public import CofferHTTP
public import CofferErrorLog
public import CofferHealth
public import CofferMetrics
public import CofferModels
public import CofferRotation
import Foundation
import HTTPTypes
public import Hummingbird
import Mustache
import NIOCore

/// The web console at `/ui/`: server-rendered pages, each a request to the Gate under the signed-in caller's
/// token, on the same path and operation as the API route it shows, so the token's policies decide what a page
/// shows and the audit trail records each page as the request it is (Docs/CONSOLE.md).
///
/// Sign-in takes a token in a POST body (never a URL), or an AppRole's role ID and secret ID (an
/// `auth/<mount>/login` through the Gate, whose token the session owns and revokes at sign-out), checks the
/// token with a `lookup-self` through the Gate and starts a session: a random cookie (`HttpOnly`,
/// `SameSite=Strict`, `Secure` under TLS, `Path=/ui`) naming the token held in guarded memory, with idle and
/// absolute timeouts. Every form carries a CSRF token checked in constant time (the sign-in form a
/// double-submitted one). Every answer has `Content-Security-Policy: default-src 'self'` and no page has a
/// script. Links to pages the token may not open are not drawn: the policy decides (`sys/capabilities-self`'s
/// answer), not the template.
public struct ConsoleRoutes: Sendable {
    let gate: Gate
    let sessions: ConsoleSessions
    let health: HealthMonitor
    let alerts: AlertEngine
    /// The trail and how this instance verifies it (its witness file and archive folder).
    let audit: AuditSelfCheck
    let rotation: RotationEngine
    let errors: ErrorLog
    let credentials: CredentialStore
    let databases: DatabaseEngine
    let models: ModelRegistry
    let metrics: MetricStore
    /// Whether the listener speaks TLS: the session cookie is then `Secure`.
    let secureCookies: Bool

    public init(
        gate: Gate, sessions: ConsoleSessions, health: HealthMonitor, alerts: AlertEngine, audit: AuditSelfCheck, rotation: RotationEngine,
        errors: ErrorLog, credentials: CredentialStore, databases: DatabaseEngine,
        models: ModelRegistry, metrics: MetricStore, secureCookies: Bool
    ) {
        self.models = models
        self.metrics = metrics
        self.databases = databases
        self.credentials = credentials
        self.rotation = rotation
        self.errors = errors
        self.gate = gate
        self.sessions = sessions
        self.health = health
        self.alerts = alerts
        self.audit = audit
        self.secureCookies = secureCookies
    }

    static let sessionCookie = "coffer_session"
    static let signInCookie = "coffer_signin"

    /// The pages: their label, address, and the request the Gate decides for them (drawn in the navigation only
    /// when the token's capabilities on that path allow it).
    struct Page: Sendable {
        let label: String
        let href: String
        let path: CanonicalPath
        let operation: GateRequest.Operation
        let extra: Capabilities
        /// Drawn when the token may use something under a KV version 2 mount (the secrets browser), not by
        /// the capabilities on ``path``.
        var anyMount = false
        /// Whether the request needs `sudo` on ``path`` (as the API route does: listing leases).
        var sudo = false
    }

    static let pages = [
        overviewPage, healthPage, auditPage, secretsPage, rotationPage, leasesPage, errorsPage, metricsPage, modelsPage
    ]

    /// Adds the console's routes to `router` (outside the Gate's router: each handler asks the Gate itself).
    public func register(on router: Router<CofferRequestContext>) {
        router.get("/ui/static/console.css") { _, _ in
            Self.answer(.ok, contentType: "text/css; charset=utf-8", body: ConsoleTemplates.stylesheet, cacheable: true)
        }
        router.get("/ui/sign-in") { request, context in
            if signedIn(request, context) != nil {
                return Self.redirect("/ui/")
            }
            return signInPage(error: nil)
        }
        router.post("/ui/sign-in") { request, context in try await signIn(request, context) }
        router.post("/ui/sign-out") { request, context in try await signOut(request, context) }
        registerHealth(on: router)
        registerSecrets(on: router)
        registerRotation(on: router)
        registerErrors(on: router)
        registerLeases(on: router)
        registerMetrics(on: router)
        registerModels(on: router)
        registerAudit(on: router)
    }

    // MARK: sign-in and sign-out

    private func signInPage(error: String?, status: HTTPResponse.Status = .ok) -> Response {
        let csrf = Hex.encode(Random.bytes(32))
        var values: [String: Any] = ["csrf": csrf]
        if let error { values["error"] = error }
        let content = Self.render(ConsoleTemplates.signIn, values)
        var response = Self.layout(title: "Sign in", content: content, status: status, session: nil, nav: [])
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, csrf, maxAge: 600)))
        return response
    }

    private func signIn(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let expected = request.cookies[Self.signInCookie]?.value, let sent = form.csrf, ConsoleSessions.equal(expected, sent)
        else {
            return signInPage(error: "The form expired or did not come from this page: sign in again.", status: .forbidden)
        }
        let token: String
        let issued: Bool
        if form.roleID != nil || form.secretID != nil {
            switch await appRoleLogin(form, request, context) {
            case .success(let value): token = value
            case .failure(let refusal): return signInPage(error: refusal.message, status: refusal.status)
            }
            issued = true
        } else {
            guard let value = form.token?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty, value.utf8.count <= 512 else {
                return signInPage(error: "Give a token, or an AppRole's role ID and secret ID.", status: .badRequest)
            }
            token = value
            issued = false
        }
        let lookup = GateRequest(
            token: token, path: "auth/token/lookup-self", operation: .read, requestID: UUID().uuidString,
            remoteAddress: context.remoteAddress)
        let name: String
        do {
            name = try await gate.perform(lookup, status: { _ in 200 }) { grant in grant.displayName }
        } catch let error as AccessError where error.code == .permissionDenied {
            return signInPage(error: "That token is not valid (unknown, expired or revoked).", status: .forbidden)
        } catch let error as AccessError {
            // Sealed, or the audit trail cannot be written: nobody signs in then, and the page says why.
            return signInPage(error: "Coffer cannot sign you in now: \(error.message)", status: .serviceUnavailable)
        }
        let (value, _) = sessions.start(token: token, displayName: name, revokeAtSignOut: issued)
        var response = Self.redirect("/ui/")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, value, maxAge: nil)))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, "", maxAge: 0)))
        return response
    }

    /// Why a sign-in was refused: the page's message and status.
    struct SignInRefusal: Error {
        let message: String
        let status: HTTPResponse.Status
    }

    /// An AppRole login through the Gate (`auth/<mount>/login`, open access, audited and rate limited as the API's):
    /// the token it issues is the session's, revoked at sign-out.
    private func appRoleLogin(_ form: Form, _ request: Request, _ context: CofferRequestContext) async -> Result<String, SignInRefusal> {
        let mount = form.mount.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? "approle"
        guard let roleID = form.roleID, let secretID = form.secretID, !roleID.isEmpty, !secretID.isEmpty,
            roleID.utf8.count <= 256, secretID.utf8.count <= 256
        else {
            return .failure(SignInRefusal(message: "Give the AppRole's role ID and a secret ID.", status: .badRequest))
        }
        guard PlainName.isValid(mount, maximum: 64), mount != ".", mount != "..",
            let path = try? CanonicalPath(validating: "auth/\(mount)/login")
        else {
            return .failure(
                SignInRefusal(message: "\(mount) is not an auth mount's name (such as approle).", status: .badRequest))
        }
        let login = GateRequest(
            token: nil, path: path, operation: .update, access: .open, requestID: UUID().uuidString, remoteAddress: context.remoteAddress)
        do {
            let issued = try await gate.perform(login, status: { _ in 200 }) { grant in
                try await gate.appRole.login(grant, mount: mount, roleID: roleID, secretID: secretID)
            }
            return .success(issued.token)
        } catch let error as AccessError where error.code == .invalidRequest || error.code == .permissionDenied {
            return .failure(SignInRefusal(message: "That role ID and secret ID do not sign in: \(error.message)", status: .forbidden))
        } catch let error as AccessError where error.code == .rateLimited {
            return .failure(SignInRefusal(message: error.message, status: .tooManyRequests))
        } catch {
            let answer = APIError.answering(error, request: request, context: context)
            return .failure(
                SignInRefusal(message: "Coffer cannot sign you in now: \(answer.errors.joined(separator: "; "))", status: answer.status))
        }
    }

    private func signOut(_ request: Request, _ context: CofferRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let (value, session) = signedIn(request, context) else {
            return Self.redirect("/ui/sign-in")
        }
        guard let sent = form.csrf, ConsoleSessions.equal(session.csrf, sent) else {
            return refusedPage("This form did not come from the console (its CSRF token is missing or wrong): nothing was done.", session)
        }
        sessions.end(cookie: value)
        await revokeIssuedToken(of: session, remoteAddress: context.remoteAddress)
        var response = Self.redirect("/ui/sign-in")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, "", maxAge: 0)))
        return response
    }

    /// The caller's live session and its cookie, if any. Sessions that timed out are removed first and the
    /// tokens issued for them revoked, so an AppRole session's token ends with its session however it ends.
    func signedIn(_ request: Request, _ context: CofferRequestContext) -> (cookie: String, session: ConsoleSessions.Session)? {
        let ended = sessions.removeExpired().filter(\.revokeAtSignOut)
        if !ended.isEmpty {
            let remoteAddress = context.remoteAddress
            Task { for session in ended { await revokeIssuedToken(of: session, remoteAddress: remoteAddress) } }
        }
        guard let value = request.cookies[Self.sessionCookie]?.value, let session = sessions.session(cookie: value) else { return nil }
        return (value, session)
    }

    /// Revokes the token issued for `session` (an AppRole sign-in), audited as its `revoke-self`; a token signed in
    /// with is the caller's own and is left alone. A failure (the token already gone) changes nothing.
    func revokeIssuedToken(of session: ConsoleSessions.Session, remoteAddress: String) async {
        guard session.revokeAtSignOut else { return }
        let revoke = GateRequest(
            token: session.tokenText, path: "auth/token/revoke-self", operation: .update, requestID: UUID().uuidString,
            remoteAddress: remoteAddress)
        _ = try? await gate.perform(revoke, status: { _ in 204 }) { grant in
            guard let token = grant.token else { return 0 }
            return try await gate.tokens.revoke(grant, accessor: token.accessor)
        }
    }

    // MARK: pages

    /// A page for a signed-in caller: the session, the navigation the token may see, the page's content. Any
    /// error the content throws is an HTML page with the status and message of the API's one mapping
    /// (``APIError/answering(_:request:context:)``): a refusal of the Gate 403, bad input 400, a missing thing
    /// 404, sealed 503. A form's answer passes the `csrf` it was sent with: one that is not the session's is
    /// refused before anything is done.
    func page(
        _ request: Request, _ context: CofferRequestContext, _ page: Page, csrf: String? = nil,
        _ content: @Sendable (String, ConsoleSessions.Session) async throws -> String
    ) async throws -> Response {
        guard let (value, session) = signedIn(request, context) else {
            return Self.redirect("/ui/sign-in")
        }
        if let csrf, !ConsoleSessions.equal(session.csrf, csrf) {
            return refusedPage("This form did not come from the console (its CSRF token is missing or wrong): nothing was done.", session)
        }
        let token = session.tokenText
        let nav: [[String: Any]]
        do {
            nav = try await navigation(token: token, current: page)
        } catch let error as AccessError where error.code == .permissionDenied || error.code == .invalidRequest {
            // The token was revoked or expired since sign-in: the session ends with it.
            sessions.end(cookie: value)
            return Self.redirect("/ui/sign-in")
        }
        do {
            return Self.layout(title: page.label, content: try await content(token, session), status: .ok, session: session, nav: nav)
        } catch {
            let answer = APIError.answering(error, request: request, context: context)
            let message = answer.errors.joined(separator: "; ")
            return Self.layout(
                title: answer.status == .forbidden ? "Not allowed" : "Refused",
                content: Self.render(
                    ConsoleTemplates.refused,
                    [
                        "message": answer.status == .forbidden
                            ? "Your token may not do this: \(message)" : message.isEmpty ? "Not found." : message
                    ]),
                status: answer.status, session: session, nav: nav)
        }
    }

    /// A form's POST on `path`, answered as `page`: the form is decoded once, its CSRF token checked against the
    /// session before `body` runs (a missing or wrong one is refused with nothing done), and what `body` draws,
    /// or the refusal it throws, is the page.
    func formAction(
        on router: Router<CofferRequestContext>, _ path: String, _ page: Page,
        _ body: @escaping @Sendable (_ token: String, _ form: Form, _ context: CofferRequestContext) async throws -> String
    ) {
        router.post(RouterPath(path)) { request, context in
            let form = try await Self.form(request)
            return try await self.page(request, context, page, csrf: form.csrf ?? "") { token, _ in try await body(token, form, context) }
        }
    }

    private func refusedPage(_ message: String, _ session: ConsoleSessions.Session) -> Response {
        Self.layout(
            title: "Refused", content: Self.render(ConsoleTemplates.refused, ["message": message]), status: .forbidden, session: session,
            nav: [])
    }

    /// The pages whose request the token's policies allow.
    private func navigation(token: String, current: Page) async throws -> [[String: Any]] {
        let capabilities = try await gate.capabilities(token: token, on: Self.pages.map(\.path.text))
        let anyMount = try await !visibleMounts(token: token).isEmpty
        return Self.pages.filter { page in
            if page.anyMount { return anyMount }
            let granted = Set(capabilities[page.path.text] ?? [])
            if granted.contains("root") { return true }
            guard granted.contains(page.operation == .read ? "read" : "list") else { return false }
            guard !page.sudo || granted.contains("sudo") else { return false }
            return page.extra.isEmpty || granted.contains("audit")
        }.map { ["label": $0.label, "href": $0.href, "current": $0.href == current.href] }
    }

    func request(_ token: String, _ page: Page, _ context: CofferRequestContext) -> GateRequest {
        GateRequest(
            token: token, path: page.path, operation: page.operation, access: .token(sudo: page.sudo), requestID: UUID().uuidString,
            remoteAddress: context.remoteAddress, extraCapabilities: page.extra)
    }

    // MARK: rendering

    static func render(_ template: String, _ values: [String: Any]) -> String {
        // The templates are constants of this file: one that does not parse is a programming error, caught by
        // every test that renders a page.
        guard let compiled = try? MustacheTemplate(string: template) else { return "<p>template error</p>" }
        return compiled.render(values)
    }

    static func layout(
        title: String, content: String, status: HTTPResponse.Status, session: ConsoleSessions.Session?, nav: [[String: Any]]
    ) -> Response {
        let html = render(
            ConsoleTemplates.layout,
            [
                "title": title, "content": content, "signedIn": session != nil, "nav": nav, "csrf": session?.csrf ?? "",
                "displayName": session?.displayName ?? ""
            ])
        return answer(status, contentType: "text/html; charset=utf-8", body: html, cacheable: false)
    }

    static func answer(_ status: HTTPResponse.Status, contentType: String, body: String, cacheable: Bool) -> Response {
        var headers = securityHeaders
        headers[.contentType] = contentType
        headers[.cacheControl] = cacheable ? "max-age=300" : "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    /// On every console answer: no script, no framing, no sniffing, no referrer.
    static var securityHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return headers
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int?) -> String {
        var text = "\(name)=\(value); Path=/ui; HttpOnly; SameSite=Strict"
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if secureCookies { text += "; Secure" }
        return text
    }

    /// The fields the console's forms send; each form uses some of them.
    struct Form: Decodable {
        var csrf: String?
        var token: String?
        var roleID: String?
        var secretID: String?
        var mount: String?
        var secret: String?
        var id: String?
        var action: String?
        var version: String?

        enum CodingKeys: String, CodingKey {
            case csrf, token, mount, secret, id, action, version
            case roleID = "role_id", secretID = "secret_id"
        }
    }

    /// An `application/x-www-form-urlencoded` body (at most 16 KiB), decoded once by Hummingbird's decoder; a
    /// body that is not a form is a form with no fields (and so fails its CSRF check).
    static func form(_ request: Request) async throws -> Form {
        let buffer = try await request.body.collect(upTo: 16 * 1024)
        return (try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: buffer))) ?? Form()
    }

    static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }
}
