//! Login, tokens and sessions over real sockets (SPEC §4 auth).
mod common;
use common::*;
use serde_json::json;

#[test]
fn login_profile_logout_round_trip() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    assert_eq!(token.len(), 64);
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(&token), None);
    assert_eq!((s, me["username"].as_str()), (200, Some("ana")));
    let (s, _) = srv.call("POST", "/api/auth/logout/", Some(&token), None);
    assert_eq!(s, 204);
    let r = srv.request("GET", "/api/auth/profile/", Some(&token), None, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Token"));
    let _ = json!({});
}
