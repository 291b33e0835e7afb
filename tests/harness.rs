//! The test harness itself (tests/common): a read of an answer that is interrupted, not
//! ended, is read again. Linux interrupts a socket read that has a timeout (the
//! harness's reads have 30 s) whenever the process is stopped and continued, or its
//! container frozen and thawed, even with no signal handler. The harness used to report
//! that as "no HTTP response" while the server was still working on the request (a slow
//! login under load) and answered it a moment later. Alone in its binary: it stops the
//! whole test process for an instant.
mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// The state letter of one of this process's threads (`/proc/<pid>/task/<tid>/stat`).
fn state(task: &Path) -> char {
    let stat = std::fs::read_to_string(task.join("stat")).unwrap();
    stat.rsplit(") ").next().and_then(|rest| rest.chars().next()).unwrap()
}

#[test]
fn a_read_interrupted_by_a_stop_and_continue_gets_the_answer() {
    let srv = Server::start();
    // The server waits for the last byte, so the reader waits too.
    let (mut s, last) = login_but_its_last_byte(&srv);
    let mut rest = s.try_clone().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        // "<pid>/task/<tid>": where the main thread sees whether this one sleeps.
        tx.send(PathBuf::from("/proc").join(std::fs::read_link("/proc/thread-self").unwrap())).unwrap();
        read_response_or_why(&mut s)
    });
    let task = rx.recv().unwrap();
    // Its only way to sleep from here on is in the read.
    while state(&task) != 'S' {
        std::thread::yield_now();
    }
    stop_and_continue(std::process::id(), &task.join("stat"));
    // Ignored: if the reader gave up, its socket may be closed already; the assert says so.
    let _ = rest.write_all(&[last]);
    let answer = reader.join().unwrap();
    let r = answer.unwrap_or_else(|why| panic!("the harness gave up on an interrupted read: {why}"));
    assert_eq!(r.status, 401, "{}", r.text());
}
