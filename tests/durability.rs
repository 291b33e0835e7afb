//! An acknowledged write survives kill -9 (SPEC §7, issue 2 point 6): writers hammer the
//! server, it is killed without warning, and after a restart every write that was
//! answered 2xx is there.
mod common;
use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

fn login_raw(addr: std::net::SocketAddr, user: &str) -> Option<String> {
    let body = format!(r#"{{"username":"{user}","password":"{PASSWORD}"}}"#);
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "POST /api/auth/login/ HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        .ok()?;
    let r = read_response(&mut s)?;
    (r.status == 200).then(|| r.json()["token"].as_str().unwrap().to_string())
}

#[test]
fn every_acknowledged_write_survives_kill_9() {
    let mut srv = Server::start();
    for u in ["w0", "w1", "w2", "w3"] {
        srv.add_user(u, "operator");
    }
    let (tx, rx) = mpsc::channel::<String>();
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let tx = tx.clone();
            let addr = srv.addr;
            std::thread::spawn(move || {
                // Stops by itself when the server is gone; bounded anyway.
                for _ in 0..2000 {
                    match login_raw(addr, &format!("w{i}")) {
                        Some(t) => {
                            if tx.send(t).is_err() {
                                return;
                            }
                        }
                        None => return,
                    }
                }
            })
        })
        .collect();
    drop(tx);
    // Kill after 150 acknowledged writes, while the writers are still going.
    let mut acked: Vec<String> = rx.iter().take(150).collect();
    srv.kill9();
    for w in writers {
        w.join().unwrap();
    }
    acked.extend(rx.try_iter());
    assert!(acked.len() >= 150);

    let dir = std::mem::replace(&mut srv.dir, tempfile::tempdir().unwrap());
    let restarted = Server::start_in(dir, srv.db.clone(), &[]);
    for t in &acked {
        let (status, _) = restarted.call("GET", "/api/auth/profile/", Some(t), None);
        assert_eq!(status, 200, "an acknowledged login was lost after kill -9");
    }
}
