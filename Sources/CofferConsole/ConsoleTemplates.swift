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
        """

    static let overview = """
        <section>
        <h2>Health: <span class="status {{overall}}">{{overall}}</span></h2>
        {{#denied}}<p class="denied">{{denied}}</p>{{/denied}}
        <table>
        <thead><tr><th>Check</th><th>Component</th><th>Status</th><th>Last run</th><th>Details</th></tr></thead>
        <tbody>
        {{#checks}}<tr><td>{{name}}</td><td>{{component}}</td>
        <td><span class="status {{status}}">{{status}}</span>{{#flapping}} (flapping){{/flapping}}</td>
        <td>{{checked}}</td><td>{{details}}</td></tr>{{/checks}}
        {{^checks}}<tr><td colspan="5">No health checks.</td></tr>{{/checks}}
        </tbody>
        </table>
        </section>
        <section>
        <h2>Firing alerts</h2>
        {{#alertsDenied}}<p class="denied">{{alertsDenied}}</p>{{/alertsDenied}}
        <ul>{{#alerts}}<li><strong>{{rule}}</strong> {{summary}} <small>since {{since}}</small></li>{{/alerts}}</ul>
        {{#noAlerts}}<p>None.</p>{{/noAlerts}}
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
        <table class="audit">
        <thead><tr><th>#</th><th>Time</th><th>Who</th><th>Operation</th><th>Path</th><th>Decision</th><th>Status</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td>{{sequence}}</td><td>{{time}}</td><td>{{who}}</td><td>{{operation}}</td>
        <td class="path">{{path}}</td><td>{{decision}}</td><td>{{status}}</td></tr>{{/entries}}
        </tbody>
        </table>
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
        """
}
