//! `royal-care check URL --username U`: the field check a person runs after an install.
//! It logs in over plain HTTP, opens the live socket with the token (as the
//! `Sec-WebSocket-Protocol: bearer` subprotocol, so it stays out of URLs and logs),
//! prints the handshake status and the first message, and ends with a one-line verdict.
//! Any failure (refused, login, handshake, a close such as 4001, no `initial_data`) is an
//! error sentence and a non-zero exit. The token is never printed; the session is logged
//! out at the end so the check leaves nothing behind.

use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

/// Every network step must answer within this.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the first message is shown.
const SHOW_BYTES: usize = 400;

pub fn run(url: &str, username: &str) -> Result<(), String> {
    let host = host_of(url)?;
    let password = password(username)?;
    let login = login(&host, username, &password)?;
    let token =
        login["token"].as_str().ok_or("the login answer has no token; is this a royal-care server?")?.to_string();
    let result = socket(&host, &token, username, &login["user"]);
    // Best effort: end the check's session so it leaves no token behind.
    let _ = http(&host, "POST", "/api/auth/logout/", Some(&token), None);
    result
}

/// `http://host:port[/...]` → `host:port`.
fn host_of(url: &str) -> Result<String, String> {
    if url.starts_with("https://") {
        return Err(
            "check speaks plain HTTP; give the server's http:// address (TLS is done by a proxy in front of it)."
                .into(),
        );
    }
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("ws://")).unwrap_or(url);
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(format!("{url:?} is not a server address; give one like http://127.0.0.1:8000"));
    }
    Ok(if host.contains(':') { host.to_string() } else { format!("{host}:80") })
}

fn password(username: &str) -> Result<String, String> {
    if let Ok(p) = std::env::var("ROYAL_CARE_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("Password for {username}: "))
            .map_err(|e| format!("cannot read the password: {e}"));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn connect(host: &str) -> Result<TcpStream, String> {
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| {
        format!("cannot connect to {host}: {e}; is the server running there, and is the address right?")
    })?;
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    Ok(s)
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body as JSON or Null).
fn http(
    host: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let mut s = connect(host)?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Token {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).map_err(|e| format!("cannot send to {host}: {e}"))?;
    let mut raw = Vec::new();
    s.take(16 * 1024 * 1024).read_to_end(&mut raw).map_err(|e| format!("no answer from {host}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{host} did not answer with HTTP; is it a royal-care server?"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{host} sent a bad HTTP status line"))?;
    Ok((status, serde_json::from_slice(&raw[split + 4..]).unwrap_or(Value::Null)))
}

fn login(host: &str, username: &str, password: &str) -> Result<Value, String> {
    let (status, v) =
        http(host, "POST", "/api/auth/login/", None, Some(&json!({"username": username, "password": password})))?;
    println!("login: HTTP {status}");
    if status != 200 {
        let detail = v["detail"].as_str().unwrap_or("no detail");
        return Err(format!("login as {username} failed with HTTP {status}: {detail}"));
    }
    Ok(v)
}

fn socket(host: &str, token: &str, username: &str, user: &Value) -> Result<(), String> {
    let url = format!("ws://{host}{}", crate::live::PATH);
    let mut req = url.into_client_request().map_err(|e| format!("bad address {host}: {e}"))?;
    let proto = format!("bearer, {token}").parse().map_err(|_| "the token is not a valid header value".to_string())?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", proto);
    let stream = connect(host)?;
    let (mut ws, resp) = match tungstenite::client::client(req, stream) {
        Ok(ok) => ok,
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            println!("handshake: HTTP {}", r.status().as_u16());
            return Err(format!(
                "the WebSocket handshake was refused with HTTP {}; check the address and ROYAL_CARE_ALLOWED_ORIGINS.",
                r.status().as_u16()
            ));
        }
        Err(e) => return Err(format!("the WebSocket handshake failed: {e}")),
    };
    println!("handshake: HTTP {} {}", resp.status().as_u16(), resp.status().canonical_reason().unwrap_or(""));
    let first = loop {
        match ws.read() {
            Ok(Message::Text(t)) => break t.to_string(),
            Ok(Message::Close(f)) => {
                let (code, reason) =
                    f.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                println!("first message: close {code} {reason}");
                let hint = if code == 4001 {
                    " (the token was refused: log in again, or check the account is active)"
                } else {
                    ""
                };
                return Err(format!("the server closed the socket with {code} \"{reason}\"{hint}."));
            }
            Ok(_) => {}
            Err(e) => return Err(format!("no first message within {}s: {e}", TIMEOUT.as_secs())),
        }
    };
    let shown: String = first.chars().take(SHOW_BYTES).collect();
    let more = if first.len() > shown.len() { format!(" … ({} bytes)", first.len()) } else { String::new() };
    println!("first message: {shown}{more}");
    let _ = ws.close(None);
    let _ = ws.flush();
    let v: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    if v["type"] != "initial_data" {
        return Err(format!(
            "the first message was {:?}, not initial_data; the server may be a different version.",
            v["type"]
        ));
    }
    let n = v["appointments"].as_array().map_or(0, Vec::len);
    println!(
        "OK: live updates work for {username} ({}): initial_data with {n} appointments at seq {}.",
        user["role"].as_str().unwrap_or("?"),
        v["seq"]
    );
    Ok(())
}
