import Mustache

/// The console's pages as Mustache templates, compiled into the binary (an installed `coffer` has no template
/// folder to lose). `{{x}}` is HTML-escaped by the library; the one unescaped tag, `{{{content}}}`, is a page this
/// renderer made. No page holds a script, an inline style or an external asset: the Content-Security-Policy is
/// `default-src 'self'`, and the stylesheet is `/ui/static/console.css`.
enum ConsoleTemplates {
    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Coffer</title>
        <link rel="stylesheet" href="/ui/static/console.css">
        </head>
        <body>
        <header>
        <a class="brand" href="/ui/">Coffer</a>
        {{#signedIn}}
        <nav>{{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/nav}}</nav>
        <form class="signout" method="post" action="/ui/sign-out">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span class="who">{{displayName}}</span> <button type="submit">Sign out</button>
        </form>
        {{/signedIn}}
        </header>
        <main>
        <h1>{{title}}</h1>
        {{{content}}}
        </main>
        </body>
        </html>
        """

    static let signIn = """
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/ui/sign-in" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" required>
        <button type="submit">Sign in</button>
        </form>
        <p class="hint">A Coffer or Vault token. Each page is a request under it, decided by its policies and audited.</p>
        <h2>Or with an AppRole</h2>
        <form method="post" action="/ui/sign-in" class="card approle">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="role_id">Role ID</label>
        <input id="role_id" name="role_id" autocomplete="off" required>
        <label for="secret_id">Secret ID</label>
        <input id="secret_id" name="secret_id" type="password" autocomplete="off" required>
        <label for="mount">Mount</label>
        <input id="mount" name="mount" value="approle" autocomplete="off">
        <button type="submit">Sign in with AppRole</button>
        </form>
        <p class="hint">The login is <code>auth/&lt;mount&gt;/login</code>; its token is this session's and is revoked when you
        sign out.</p>
        """

    static let overview = """
        <section>
        <h2>Health: <span class="status {{overall}}">{{overall}}</span></h2>
        {{#componentsDenied}}<p class="denied">{{componentsDenied}}</p>{{/componentsDenied}}
        {{#hasComponents}}<table class="components">
        <thead><tr><th>Component</th><th>Checks</th><th>Critical</th><th>Warning</th><th>Maintenance</th><th>Flapping</th>
        <th>Open issues</th><th>Last checked</th></tr></thead>
        <tbody>
        {{#components}}<tr><td><span class="status {{worst}}">{{component}}</span></td><td>{{checks}}</td><td>{{critical}}</td>
        <td>{{warning}}</td><td>{{maintenance}}</td><td>{{flapping}}</td><td>{{openIssues}}</td><td>{{last}}</td></tr>{{/components}}
        </tbody>
        </table>{{/hasComponents}}
        <h3>Checks</h3>
        <table class="checks">
        <thead><tr><th>Check</th><th>Component</th><th>Status</th><th>Last 24 hours</th><th>Up 24 h · 7 d · 30 d</th><th>Last run</th>
        <th>Details</th></tr></thead>
        <tbody>
        {{#checks}}<tr><td><a href="/ui/health?check={{name}}">{{name}}</a></td><td>{{component}}</td>
        <td><span class="status {{status}}">{{status}}</span>{{#flapping}} (flapping){{/flapping}}</td>
        <td>{{{uptime}}}</td><td>{{availability}}</td><td>{{checked}}</td><td>{{details}}</td></tr>{{/checks}}
        {{^checks}}<tr><td colspan="7">No health checks.</td></tr>{{/checks}}
        </tbody>
        </table>
        </section>
        <section>
        <h2>Firing alerts</h2>
        {{#alertsDenied}}<p class="denied">{{alertsDenied}}</p>{{/alertsDenied}}
        <ul>{{#alerts}}<li><strong>{{rule}}</strong> {{summary}} <small>since {{since}}</small></li>{{/alerts}}</ul>
        {{#noAlerts}}<p>None.</p>{{/noAlerts}}
        </section>
        <section>
        <h2>Recent critical errors</h2>
        {{#criticalDenied}}<p class="denied">{{criticalDenied}}</p>{{/criticalDenied}}
        <ul class="critical">{{#critical}}<li><strong>#{{id}} {{title}}</strong> {{component}}, {{count}} events
        <small>last {{last}}</small></li>{{/critical}}</ul>
        {{#noCritical}}<p>No unresolved critical issue.</p>{{/noCritical}}
        </section>
        """

    static let health = """
        {{#check}}<section>
        <h2>Check <span class="path">{{check}}</span>: recent results</h2>
        <table class="results">
        <thead><tr><th>Time</th><th>Result</th><th>Status</th><th>Latency</th><th>Details</th></tr></thead>
        <tbody>
        {{#results}}<tr><td>{{time}}</td><td>{{result}}</td><td><span class="status {{status}}">{{status}}</span></td><td>{{latency}}</td>
        <td>{{details}}</td></tr>{{/results}}
        {{#noResults}}<tr><td colspan="5">No results yet.</td></tr>{{/noResults}}
        </tbody>
        </table>
        </section>{{/check}}
        <section>
        <h2>Alert rules</h2>
        {{#rulesDenied}}<p class="denied">{{rulesDenied}}</p>{{/rulesDenied}}
        {{#hasRules}}<table class="rules">
        <thead><tr><th>Rule</th><th>Type</th><th>Condition</th><th>Sinks</th></tr></thead>
        <tbody>{{#rules}}<tr><td>{{name}}</td><td>{{type}}</td><td>{{condition}}</td><td>{{sinks}}</td></tr>{{/rules}}</tbody>
        </table>{{/hasRules}}
        {{#noRules}}<p>No alert rules.</p>{{/noRules}}
        </section>
        <section>
        <h2>Alert history</h2>
        <table class="history">
        <thead><tr><th>Time</th><th>Rule</th><th>Group</th><th>State</th><th>Summary</th><th>Delivery</th></tr></thead>
        <tbody>
        {{#history}}<tr><td>{{at}}</td><td>{{rule}}</td><td>{{group}}</td><td><span class="status {{class}}">{{state}}</span></td>
        <td>{{summary}}</td><td>{{delivery}}</td></tr>{{/history}}
        {{#noHistory}}<tr><td colspan="6">No alert has fired.</td></tr>{{/noHistory}}
        </tbody>
        </table>
        </section>
        """

    static let audit = """
        <form method="get" action="/ui/audit" class="filters">
        <label>Path <input name="path" value="{{path}}" placeholder="secret/data/app/*"></label>
        <label>Accessor <input name="accessor" value="{{accessor}}"></label>
        <label>Operation <input name="operation" value="{{operation}}" placeholder="read"></label>
        <label>Last hours <input name="hours" value="{{hours}}" inputmode="numeric"></label>
        <button type="submit">Filter</button>
        </form>
        <p>{{count}} entries, newest first{{#capped}} (the newest 200 of more){{/capped}}. Values are never shown: the trail holds
        keyed hashes.</p>
        <p class="actions"><a href="/ui/audit/verify">Verify the chain</a>
        <a href="/ui/audit/export?{{exportQuery}}" download>Export these filters as NDJSON</a>
        <small>(oldest first, at most {{exportRows}} entries; <code>coffer audit export</code> gives the whole chain)</small></p>
        <table class="audit">
        <thead><tr><th>#</th><th>Time</th><th>Who</th><th>Operation</th><th>Path</th><th>Decision</th><th>Status</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td>{{sequence}}</td><td>{{time}}</td><td>{{who}}</td><td>{{operation}}</td>
        <td class="path">{{path}}</td><td>{{decision}}</td><td>{{status}}</td></tr>{{/entries}}
        </tbody>
        </table>
        """

    static let auditVerify = """
        {{#intact}}<p class="changed"><strong>Intact.</strong> {{finding}}</p>{{/intact}}
        {{^intact}}<p class="error" role="alert"><strong>Not intact.</strong> {{finding}}
        {{#firstBad}}The first entry it names is {{firstBad}}.{{/firstBad}}</p>{{/intact}}
        <dl class="facts">
        <dt>Entries recomputed</dt><dd>{{entries}}</dd><dt>Tags checked</dt><dd>{{tags}}</dd>
        <dt>Signed checkpoints</dt><dd>{{checkpoints}}</dd>
        <dt>Witness</dt><dd>{{witness}}{{#witnessed}}, newest checkpoint {{witnessed}}{{/witnessed}} ({{witnessRecords}} records)</dd>
        <dt>Archive</dt><dd>{{archive}}: {{segments}} sealed segments, {{segmentFiles}} files read, {{archivedEntries}} entries</dd>
        {{#hasMissing}}<dt>Segment files not found</dt><dd>{{#missing}}<code>{{.}}</code> {{/missing}}</dd>{{/hasMissing}}
        </dl>
        <p class="hint">The check is itself an entry in the trail. Offline, with the public key only:
        <code>coffer audit verify --archive DIR --file EXPORT --public-key HEX</code> (Docs/AUDIT.md).</p>
        <p><a href="/ui/audit">Back to the trail</a></p>
        """

    static let leases = """
        <p>Dynamic database credentials and their leases, soonest to expire first{{#capped}} (the first 500){{/capped}}.
        Expired leases are revoked by the service's reaper.</p>
        <table class="leases">
        <thead><tr><th>Lease</th><th>Role</th><th>Database</th><th>User</th><th>Issued</th><th>Renewed</th><th>Expires</th>
        <th>Left</th><th>Max</th><th></th></tr></thead>
        <tbody>
        {{#rows}}<tr><td class="path">{{id}}{{#altered}} <span class="status critical">row altered</span>{{/altered}}</td>
        <td>{{role}}</td><td>{{database}}</td><td>{{username}}</td><td>{{issued}}</td><td>{{renewed}}</td><td>{{expires}}</td>
        <td>{{left}}</td><td>{{max}}</td>
        <td>{{#canRevoke}}<form class="inline" method="post" action="/ui/leases/revoke"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="id" value="{{id}}"><button type="submit">Revoke</button></form>{{/canRevoke}}</td></tr>{{/rows}}
        {{#none}}<tr><td colspan="10">No leases.</td></tr>{{/none}}
        </tbody>
        </table>
        """

    static let leaseRevoked = """
        <p class="changed">Lease <span class="path">{{id}}</span> is revoked: its database role is dropped.</p>
        <p><a href="/ui/leases">Back to the leases</a></p>
        """

    static let models = """
        <ul class="listing">{{#models}}<li><a href="/ui/models?name={{.}}">{{.}}</a></li>{{/models}}</ul>
        {{#none}}<p>No models are registered.</p>{{/none}}
        """

    static let model = """
        <p class="crumbs"><a href="/ui/models">Models</a> / {{name}}</p>
        <dl class="facts">
        <dt>Description</dt><dd>{{description}}</dd><dt>Latest version</dt><dd>{{latest}} ({{count}} versions)</dd>
        <dt>By status</dt><dd>{{statuses}}</dd><dt>Created</dt><dd>{{created}} by {{by}}</dd>
        <dt>Aliases</dt><dd>{{#aliases}}<strong>{{alias}}</strong> → {{version}} {{/aliases}}</dd>
        </dl>
        <h3>Versions</h3>
        {{#versionsDenied}}<p class="denied">{{versionsDenied}}</p>{{/versionsDenied}}
        <table class="versions">
        <thead><tr><th>Version</th><th>Label</th><th>Status</th><th>Aliases</th><th>Type</th><th>Algorithm</th>
        <th>Validation metrics</th><th>Artifact</th><th>Created</th></tr></thead>
        <tbody>
        {{#versions}}<tr><td>{{version}}</td><td>{{label}}</td><td><span class="status {{status}}">{{status}}</span></td>
        <td>{{aliases}}</td>
        <td>{{type}}</td><td>{{algorithm}}</td><td>{{metrics}}</td><td>{{size}} <code>{{digest}}…</code></td>
        <td>{{created}} by {{by}}</td></tr>{{/versions}}
        </tbody>
        </table>
        <h3>Deployment history</h3>
        {{#historyDenied}}<p class="denied">{{historyDenied}}</p>{{/historyDenied}}
        <table class="tenures">
        <thead><tr><th>Alias</th><th>Version</th><th>From</th><th>Until</th><th>Set by</th></tr></thead>
        <tbody>{{#tenures}}<tr><td>{{alias}}</td><td>{{version}}</td><td>{{from}}</td><td>{{until}}</td><td>{{by}}</td></tr>
        {{/tenures}}</tbody>
        </table>
        <table class="events">
        <thead><tr><th>Time</th><th>Change</th><th>Note</th><th>By</th></tr></thead>
        <tbody>{{#events}}<tr><td>{{at}}</td><td>{{what}}</td><td>{{note}}</td><td>{{by}}</td></tr>{{/events}}</tbody>
        </table>
        """

    static let metrics = """
        <form method="get" action="/ui/metrics" class="filters">
        <label>Metric <select name="name">{{#names}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>
        {{/names}}{{^names}}<option value="{{name}}" selected>{{name}}</option>{{/names}}</select></label>
        <label>Range <select name="range">{{#ranges}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>
        {{/ranges}}</select></label>
        <label>Function <select name="fn">{{#functions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>
        {{/functions}}</select></label>
        <label>Group by <input name="by" value="{{by}}" placeholder="method,status"></label>
        <button type="submit">Draw</button>
        </form>
        {{#labels}}<p class="hint">Labels: {{labels}}</p>{{/labels}}
        {{#shown}}<figure>{{{chart}}}
        <figcaption><ul class="legend">{{#legend}}<li>{{{swatch}}}{{labels}}: last {{last}} <small>({{source}})</small></li>{{/legend}}</ul>
        <small>One point per {{step}}.</small> {{#more}}<span class="hint">{{more}}</span>{{/more}}</figcaption></figure>{{/shown}}
        {{^shown}}<p>Choose a metric to draw.</p>{{/shown}}
        """

    static let rotation = """
        <p>Credentials with a rotator. The service rotates due ones on its own; "Rotate now" runs one at once (your token
        needs <code>rotate</code> on it).</p>
        <table>
        <thead><tr><th>Credential</th><th>Rotator</th><th>Version</th><th>Last rotated</th><th>Next due</th><th>Failures</th>
        <th>Last error</th><th>Unfinished run</th><th></th></tr></thead>
        <tbody>
        {{#rows}}<tr><td class="path">{{path}}</td><td>{{kind}}</td><td>{{version}}</td><td>{{last}}</td>
        <td>{{next}}{{#due}} <span class="status warning">due</span>{{/due}}</td><td>{{failures}}</td><td>{{error}}</td>
        <td>{{unfinished}}</td>
        <td>{{#canRotate}}<form method="post" action="/ui/rotation/rotate"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="secret" value="{{path}}"><button type="submit">Rotate now</button></form>{{/canRotate}}</td>
        </tr>{{/rows}}
        {{#none}}<tr><td colspan="9">No credential has a rotator.</td></tr>{{/none}}
        </tbody>
        </table>
        """

    static let rotated = """
        <ul class="outcomes">{{#outcomes}}<li><strong>{{path}}</strong>: <span class="result">{{result}}</span>,
        version {{old}} → {{new}}
        {{#error}}<span class="error">{{error}}</span>{{/error}}</li>{{/outcomes}}</ul>
        <p><a href="/ui/rotation">Back to rotation</a></p>
        """

    static let errors = """
        <nav class="filters">{{#filters}}<a href="/ui/errors?status={{status}}"{{#current}} aria-current="page"{{/current}}>{{status}}</a>
        {{/filters}}</nav>
        <table>
        <thead><tr><th>#</th><th>Issue</th><th>Component</th><th>Severity</th><th>Events</th><th>Last seen</th><th></th></tr></thead>
        <tbody>
        {{#rows}}<tr><td>{{id}}</td><td>{{title}}{{#regressed}} <span class="status warning">regressed</span>{{/regressed}}</td>
        <td>{{component}}</td><td>{{severity}}</td><td>{{count}}</td><td>{{last}}</td>
        <td>{{#actions}}<form class="inline" method="post" action="/ui/errors/action"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="id" value="{{id}}"><input type="hidden" name="action" value="{{action}}">
        <button type="submit">{{label}}</button></form>{{/actions}}</td></tr>{{/rows}}
        {{#none}}<tr><td colspan="7">No issues with this status.</td></tr>{{/none}}
        </tbody>
        </table>
        """

    static let secretMounts = """
        <p>The KV version 2 engines under which your token may use something.</p>
        <ul class="listing">{{#mounts}}
        <li><a class="folder" href="{{href}}">{{path}}/</a> <small>{{description}}</small></li>{{/mounts}}</ul>
        {{#none}}<p>Your token may use no KV version 2 engine.</p>{{/none}}
        """

    static let secretFolder = """
        <p class="crumbs"><a href="/ui/secrets">Engines</a>{{#crumbs}} / <a href="{{href}}">{{name}}</a>{{/crumbs}}</p>
        <ul class="listing">{{#keys}}
        <li><a class="{{#folder}}folder{{/folder}}{{^folder}}secret{{/folder}}" href="{{href}}">{{name}}</a></li>{{/keys}}</ul>
        {{#none}}<p>Nothing here.</p>{{/none}}
        """

    static let secret = """
        <p class="crumbs"><a href="{{folder}}">Back to the folder</a></p>
        <h2 class="path">{{path}}</h2>
        <dl class="facts">
        <dt>Current version</dt><dd>{{current}}</dd><dt>Keeps</dt><dd>{{keeps}}</dd>
        <dt>Created</dt><dd>{{created}}</dd><dt>Updated</dt><dd>{{updated}}</dd>
        {{#expires}}<dt>Expires</dt><dd>{{expires}}</dd>{{/expires}}
        <dt>Reads</dt><dd>{{reads}} (last {{lastRead}})</dd>
        {{#rotator}}<dt>Rotator</dt><dd>{{rotator}}{{#nextDue}}, next due {{nextDue}}{{/nextDue}}</dd>{{/rotator}}
        </dl>
        <h3>Versions</h3>
        <table class="versions">
        <thead><tr><th>Version</th><th>Labels</th><th>Created</th><th>By</th><th>State</th><th></th></tr></thead>
        <tbody>
        {{#versions}}<tr><td>{{version}}</td><td>{{labels}}</td><td>{{created}}</td><td>{{by}}</td><td>{{state}}</td>
        <td>{{#reveal}}<form class="inline" method="post" action="/ui/secrets/reveal"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="secret" value="{{path}}"><input type="hidden" name="version" value="{{version}}">
        <button type="submit">Show value</button></form>{{/reveal}}</td></tr>{{/versions}}
        </tbody>
        </table>
        {{^mayRead}}<p class="hint">Your token may not read this secret's value.</p>{{/mayRead}}
        <h3>Custom metadata</h3>
        <table><tbody>{{#custom}}<tr><th>{{key}}</th><td>{{value}}</td></tr>{{/custom}}
        {{#noCustom}}<tr><td>None.</td></tr>{{/noCustom}}</tbody></table>
        """

    static let secretValue = """
        <p class="hint">Version {{version}} of <span class="path">{{path}}</span>. This read is in the audit trail as yours. The page
        is not cached; leave it when you are done.</p>
        <table class="value"><tbody>{{#fields}}<tr><th>{{key}}</th><td><code>{{value}}</code></td></tr>{{/fields}}</tbody></table>
        <p><a href="{{back}}">Back to the secret</a></p>
        """

    static let issueChanged = """
        <p class="changed">Issue {{id}} ({{title}}) is now <strong>{{status}}</strong>.</p>
        <p><a href="/ui/errors">Back to the issues</a></p>
        """

    static let refused = """
        <p class="error" role="alert">{{message}}</p>
        <p><a href="/ui/">Back to the overview</a></p>
        """

    static let stylesheet = """
        :root { font-family: system-ui, sans-serif; color: #1b1f24; background: #f6f7f9; }
        body { margin: 0; }
        header { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; padding: .75rem 1.25rem;
          background: #14213d; color: #fff; }
        header a { color: #fff; text-decoration: none; }
        .brand { font-weight: 700; font-size: 1.2rem; }
        nav { display: flex; flex-wrap: wrap; gap: 1rem; }
        nav a[aria-current] { text-decoration: underline; }
        .signout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
        main { padding: 1rem 1.25rem; max-width: 75rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; display: block; overflow-x: auto; }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e3e6ea; font-size: .92rem; }
        td.path { word-break: break-all; }
        .status { padding: .1rem .45rem; border-radius: .3rem; background: #e3e6ea; }
        .status.passing, .status.deployed { background: #d8f3dc; } .status.staged { background: #d0ebff; }
        .status.passing { background: #d8f3dc; } .status.warning { background: #fff3bf; } .status.critical { background: #ffd6d6; }
        .error, .denied { background: #fff0f0; border-left: 4px solid #c92a2a; padding: .5rem .75rem; }
        .card { display: grid; gap: .5rem; max-width: 24rem; background: #fff; padding: 1rem; border-radius: .4rem; }
        .filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: .75rem; }
        input { padding: .35rem; font: inherit; } button { padding: .35rem .8rem; font: inherit; }
        .hint { color: #5c6470; }
        form.inline { display: inline; margin-right: .3rem; }
        .filters a { margin-right: 1rem; } .filters a[aria-current] { font-weight: 700; }
        .listing { list-style: none; padding: 0; } .listing li { padding: .3rem 0; border-bottom: 1px solid #e3e6ea; }
        a.folder { font-weight: 600; } .path, .crumbs { word-break: break-all; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
        dl.facts dt { color: #5c6470; } dl.facts dd { margin: 0; }
        table.value code { word-break: break-all; white-space: pre-wrap; }
        svg.uptime { display: block; max-width: 100%; height: auto; } svg.chart { width: 100%; height: auto; display: block; }
        svg.swatch { vertical-align: middle; margin-right: .3rem; }
        .actions a { margin-right: 1rem; }
        ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; }
        select { padding: .35rem; font: inherit; }
        main { overflow-wrap: anywhere; } figure { margin: 0; } select, input { max-width: 100%; }
        .filters > * { min-width: 0; max-width: 100%; } .filters label { display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; }
        """
}
