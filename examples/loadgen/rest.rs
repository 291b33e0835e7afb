//! REST throughput: keep-alive clients GET one path in a loop.

use crate::server::{read_response, Srv};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `clients` threads each with one keep-alive connection, GET `path` for `secs`.
pub fn rest(srv: &Srv, clients: usize, secs: u64, path: &str) -> f64 {
    if path.contains("appointments") {
        let fx = srv.fixtures();
        for i in 0..20 {
            assert_eq!(srv.create(fx, i).0, 201);
        }
    }
    let until = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, token, path) = (srv.addr, srv.token.clone(), path.to_string());
            std::thread::spawn(move || {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Token {token}\r\n\r\n");
                let mut n = 0u64;
                while Instant::now() < until {
                    w.write_all(req.as_bytes()).unwrap();
                    let (status, _) = read_response(&mut r).expect("connection closed");
                    assert_eq!(status, 200, "GET {path} answered {status}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let t0 = Instant::now();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total as f64 / t0.elapsed().as_secs_f64().max(secs as f64)
}
