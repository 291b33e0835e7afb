//! The built-in web UI as served over HTTP: every file the page needs comes from the
//! binary itself with the right type, a strict Content-Security-Policy, and ETag
//! revalidation; nothing points outside the server. (The UI's behaviour is tested in a
//! real browser by `tests/browser.rs`.)

mod common;
use common::Server;

#[test]
fn the_page_is_served_with_a_strict_policy_and_revalidates_with_304() {
    let srv = Server::start();
    let r = srv.request("GET", "/", None, None, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").expect("CSP on the page");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert!(csp.contains(&format!("connect-src 'self' ws://{} wss://{}", srv.addr, srv.addr)), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let etag = r.header("etag").expect("an ETag").to_string();
    // No inline script: the CSP would block it, so the page must not rely on one.
    let html = r.text();
    assert!(!html.contains("<script>") && html.contains(r#"<script type="module" src="/js/app.js">"#));

    let again = srv.request("GET", "/", None, None, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let changed = srv.request("GET", "/", None, None, &[("If-None-Match", "\"something-else\"")]);
    assert_eq!(changed.status, 200);
}

#[test]
fn scripts_and_styles_have_their_types_and_nothing_loads_from_outside() {
    let srv = Server::start();
    for (path, ty) in [
        ("/js/app.js", "text/javascript; charset=utf-8"),
        ("/js/live.js", "text/javascript; charset=utf-8"),
        ("/app.css", "text/css; charset=utf-8"),
        ("/icon.svg", "image/svg+xml"),
    ] {
        let r = srv.request("GET", path, None, None, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ty), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        // (The SVG namespace is a name, not something fetched.)
        let text = r.text().replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!text.contains("http://") && !text.contains("https://"), "{path} refers to another server");
    }
    assert_eq!(srv.request("GET", "/js/nope.js", None, None, &[]).status, 404);
    assert_eq!(srv.request("POST", "/", None, Some("{}"), &[]).status, 405);
}

#[test]
fn the_app_is_installable_and_its_service_worker_keeps_only_the_app_files() {
    let srv = Server::start();
    let page = srv.request("GET", "/", None, None, &[]);
    assert!(page.text().contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    let csp = page.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("worker-src 'self'") && csp.contains("manifest-src 'self'"), "{csp}");

    let m = srv.request("GET", "/manifest.webmanifest", None, None, &[]);
    assert_eq!(m.header("content-type"), Some("application/manifest+json"));
    let m: serde_json::Value = serde_json::from_str(&m.text()).expect("the manifest is JSON");
    assert_eq!((m["start_url"].as_str(), m["display"].as_str()), (Some("/"), Some("standalone")));
    assert_eq!(m["icons"][0]["src"], "/icon.svg");

    let sw = srv.request("GET", "/sw.js", None, None, &[]);
    assert_eq!(sw.status, 200);
    assert_eq!(sw.header("content-type"), Some("text/javascript; charset=utf-8"));
    let text = sw.text();
    // The server filled in the shell: every file it serves, no API answer needing a login.
    let shell = text.split("const SHELL = ").nth(1).and_then(|t| t.split(";\n").next()).unwrap();
    let shell: Vec<String> = serde_json::from_str(shell).expect("the shell is a JSON list");
    for f in ["/", "/app.css", "/js/app.js", "/js/offline.js", "/manifest.webmanifest"] {
        assert!(shell.iter().any(|s| s == f), "{f} not kept: {shell:?}");
    }
    assert!(shell.iter().all(|s| !s.starts_with("/api/")), "{shell:?}");
    assert!(!text.contains("const VERSION = 'dev'"));
}
