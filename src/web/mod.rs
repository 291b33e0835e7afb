//! The built-in web UI: the static files of `web/` (HTML, CSS, plain JavaScript modules),
//! embedded in the binary at build time so the server works offline with nothing else
//! installed. It owns only serving them: content types, a strict Content-Security-Policy
//! (no inline script, no third-party origin), and revalidation by ETag; plus the web app
//! manifest and the service worker (`/sw.js`), into which it writes the list of files to
//! keep for offline use and their hash (`service_worker`). Everything the pages do goes
//! through the public REST API and WebSocket like any other client.

use crate::error::ApiError;
use crate::http::{Request, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Path served → (file in `web/`, content type). `/` is the one page; the rest are the
/// assets it loads. Adding a file to `web/` means adding a line here.
const FILES: &[(&str, &[u8], &str)] = &[
    ("/", include_bytes!("../../web/index.html"), "text/html; charset=utf-8"),
    ("/app.css", include_bytes!("../../web/app.css"), "text/css; charset=utf-8"),
    ("/icon.svg", include_bytes!("../../web/icon.svg"), "image/svg+xml"),
    ("/js/app.js", include_bytes!("../../web/js/app.js"), JS),
    ("/js/api.js", include_bytes!("../../web/js/api.js"), JS),
    ("/js/live.js", include_bytes!("../../web/js/live.js"), JS),
    ("/js/board.js", include_bytes!("../../web/js/board.js"), JS),
    ("/js/mine.js", include_bytes!("../../web/js/mine.js"), JS),
    ("/js/forms.js", include_bytes!("../../web/js/forms.js"), JS),
    ("/js/ui.js", include_bytes!("../../web/js/ui.js"), JS),
    ("/js/workflow.js", include_bytes!("../../web/js/workflow.js"), JS),
    ("/js/store.js", include_bytes!("../../web/js/store.js"), JS),
    ("/js/offline.js", include_bytes!("../../web/js/offline.js"), JS),
    ("/js/phone.js", include_bytes!("../../web/js/phone.js"), JS),
    ("/js/clientbox.js", include_bytes!("../../web/js/clientbox.js"), JS),
    ("/js/bell.js", include_bytes!("../../web/js/bell.js"), JS),
    ("/manifest.webmanifest", include_bytes!("../../web/manifest.webmanifest"), "application/manifest+json"),
    // At the root so that its scope is the whole app (no Service-Worker-Allowed needed).
    ("/sw.js", include_bytes!("../../web/sw.js"), JS),
    ("/js/timeline.js", include_bytes!("../../web/js/timeline.js"), JS),
    ("/js/attention.js", include_bytes!("../../web/js/attention.js"), JS),
    ("/js/daysummary.js", include_bytes!("../../web/js/daysummary.js"), JS),
    ("/js/keyed.js", include_bytes!("../../web/js/keyed.js"), JS),
    ("/js/wording.js", include_bytes!("../../web/js/wording.js"), JS),
    ("/js/availability.js", include_bytes!("../../web/js/availability.js"), JS),
];

/// The service worker's placeholders, filled in by `service_worker`.
const SW_SHELL: &str = "const SHELL = [];";
const SW_VERSION: &str = "const VERSION = 'dev';";

const JS: &str = "text/javascript; charset=utf-8";

struct Asset {
    path: &'static str,
    body: Vec<u8>,
    content_type: &'static str,
    etag: String,
}

/// The assets with their ETags, hashed once on first use (the bytes never change while
/// the binary runs, so a strong ETag from the content is exact).
fn assets() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|(path, body, content_type)| {
                let body = if *path == "/sw.js" { service_worker(body) } else { body.to_vec() };
                let digest = Sha256::digest(&body);
                let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
                Asset { path, body, content_type, etag: format!("\"{hex}\"") }
            })
            .collect()
    })
}

/// The service worker with its shell list (every file served here but itself) and a
/// version that is a hash of all of them: a new binary with any changed file is a new
/// worker, which drops the old copies. So the list never misses a file added to `FILES`.
fn service_worker(template: &[u8]) -> Vec<u8> {
    let shell: Vec<&str> = FILES.iter().map(|f| f.0).filter(|p| *p != "/sw.js").collect();
    let mut all = Sha256::new();
    for (path, body, _) in FILES.iter().filter(|f| f.0 != "/sw.js") {
        all.update(path.as_bytes());
        all.update(body);
    }
    all.update(template);
    let version: String = all.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let text = std::str::from_utf8(template).expect("sw.js is UTF-8");
    assert!(text.contains(SW_SHELL) && text.contains(SW_VERSION), "sw.js lost its placeholders");
    text.replace(SW_SHELL, &format!("const SHELL = {};", serde_json::to_string(&shell).expect("paths serialise")))
        .replace(SW_VERSION, &format!("const VERSION = '{version}';"))
        .into_bytes()
}

pub fn route(req: &Request) -> Result<Response, ApiError> {
    req.allow(&["GET"])?;
    let path = if req.path() == "/index.html" { "/" } else { req.path() };
    let asset = assets().iter().find(|a| a.path == path).ok_or_else(ApiError::not_found)?;
    let fresh = req.header("if-none-match").is_some_and(|v| etag_matches(v, &asset.etag));
    let resp = if fresh {
        // 304 carries no body; the browser keeps using its copy.
        Response { status: 304, headers: vec![], body: Default::default() }
    } else {
        Response::new(200, asset.content_type, asset.body.clone())
    };
    let resp = resp
        .header("ETag", &asset.etag)
        // Revalidate every time: an upgraded binary must never run next to stale scripts,
        // and on a LAN a 304 costs next to nothing.
        .header("Cache-Control", "no-cache")
        .header("Referrer-Policy", "no-referrer")
        .header("X-Frame-Options", "DENY");
    Ok(if asset.path == "/" { resp.header("Content-Security-Policy", &csp(Some(&req.client().host))) } else { resp })
}

/// `If-None-Match` may list several tags or `*`; a weak `W/` prefix still matches (RFC 9110
/// uses the weak comparison for `If-None-Match`).
fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// The page's policy: scripts, styles and images only from this server, no inline code, no
/// framing, and connections only back to this server — `'self'` for REST plus the same
/// host's `ws:`/`wss:` for the live socket (older browsers do not count those as `'self'`).
pub fn csp(host: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    // The host the client asked for (`Request::client`: Host, or a trusted proxy's
    // X-Forwarded-Host) comes from outside; use it only when it is a plain host[:port].
    if let Some(h) = host.filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(is_host_byte)) {
        connect.push_str(&format!(" ws://{h} wss://{h}"));
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_adds_the_same_host_websocket_only_for_a_plain_host() {
        let p = csp(Some("clinic.local:8000"));
        assert!(p.contains("connect-src 'self' ws://clinic.local:8000 wss://clinic.local:8000;"));
        assert!(p.contains("script-src 'self';") && !p.contains("unsafe-inline"));
        let evil = csp(Some("x; script-src *"));
        assert!(evil.contains("connect-src 'self';") && !evil.contains("script-src *"));
    }

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }

    #[test]
    fn the_service_worker_keeps_every_file_but_itself_and_changes_with_them() {
        let sw = assets().iter().find(|a| a.path == "/sw.js").unwrap();
        let text = std::str::from_utf8(&sw.body).unwrap();
        assert!(!text.contains(SW_SHELL) && !text.contains(SW_VERSION), "placeholders filled in");
        for (path, _, _) in FILES.iter().filter(|f| f.0 != "/sw.js") {
            assert!(text.contains(&format!("\"{path}\"")), "the shell lacks {path}");
        }
        assert!(!text.contains("\"/sw.js\""));
        let template = FILES.iter().find(|f| f.0 == "/sw.js").unwrap().1;
        let mut other = template.to_vec();
        other.extend_from_slice(b"// changed\n");
        let version = |b: &[u8]| {
            String::from_utf8(b.to_vec()).unwrap().split("const VERSION = ").nth(1).unwrap()[..18].to_string()
        };
        assert_ne!(version(&service_worker(template)), version(&service_worker(&other)));
    }

    /// A file the page loads but the table forgot would be a blank page in production.
    #[test]
    fn every_file_the_page_and_its_modules_load_is_served() {
        let served = |p: &str| FILES.iter().any(|f| f.0 == p);
        let page = std::str::from_utf8(FILES[0].1).unwrap();
        for part in page.split(['"', '\'']).filter(|p| p.starts_with('/')) {
            assert!(served(part), "index.html loads {part}, which is not served");
        }
        for (path, body, _) in FILES.iter().filter(|f| f.0.ends_with(".js")) {
            let text = std::str::from_utf8(body).unwrap();
            for import in text.split("from './").skip(1) {
                let file = &import[..import.find('\'').unwrap()];
                assert!(served(&format!("/js/{file}")), "{path} imports ./{file}, which is not served");
            }
        }
    }
}
