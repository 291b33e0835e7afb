//! Events on the live socket (SPEC §5): who gets what, in `seq` order; exact resume with
//! `?since=` while writes go on; resync; a slow client closed with 4008 while the
//! others keep up. Event rows are written from this test process, as another process
//! (the CLI) would, so these also cover the hub finding events in the log.
mod common;
mod ws_support;

use common::*;
use royal_care::events::{
    Audience, EventDraft, APPOINTMENT_CREATED, APPOINTMENT_DELETED, NOTIFICATION, SESSION_REVOKED,
};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

/// Reads change messages until `last` arrives; returns their (type, seq).
fn collect_until(ws: &mut Ws, last: i64) -> Vec<(String, i64)> {
    let mut got = Vec::new();
    loop {
        let v = ws.next_json(10 * SEC).unwrap_or_else(|e| panic!("waiting for seq {last}: {e:?}, got {got:?}"));
        let seq = v["seq"].as_i64().expect("every change message has a seq");
        assert!(v["timestamp"].is_string());
        got.push((v["type"].as_str().unwrap().to_string(), seq));
        if seq >= last {
            return got;
        }
    }
}

#[test]
fn each_user_gets_only_their_events_in_seq_order() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let t1 = srv.user("tess", "therapist");
    let t2 = srv.user("theo", "therapist");
    let d = srv.user("dan", "driver");
    let ids @ [_, t1_id, t2_id, d_id] = [&op, &t1, &t2, &d].map(|t| user_id(&srv, t));
    let mut socks: Vec<Ws> = [&op, &t1, &t2, &d].iter().map(|t| open(&srv, t).0).collect();

    let seqs = inject(
        &srv,
        vec![
            EventDraft {
                kind: APPOINTMENT_CREATED,
                appointment_id: Some(1),
                audience: Audience::operators_and([t1_id, d_id]),
                payload: json!({"appointment": {"id": 1}, "created_by": ids[0]}),
            },
            EventDraft {
                kind: NOTIFICATION,
                appointment_id: Some(1),
                audience: Audience::only([t2_id]),
                payload: json!({"notification_type": "x", "title": "t", "message": "m", "data": {}}),
            },
            EventDraft {
                kind: SESSION_REVOKED,
                appointment_id: None,
                audience: Audience::only([t1_id]),
                payload: json!({"user_id": 9999, "all": true}),
            },
            updated(2, Audience::operators_and([t2_id])),
            // Tess is taken off appointment 1: it leaves her view.
            EventDraft {
                kind: APPOINTMENT_DELETED,
                appointment_id: Some(1),
                audience: Audience::only([t1_id]),
                payload: json!({"appointment_id": 1, "deleted_by": ids[0]}),
            },
            updated(3, Audience::operators_and(ids)),
        ],
    );
    let s = |i: usize| seqs[i];
    let last = s(5);
    let got: Vec<_> = socks.iter_mut().map(|w| collect_until(w, last)).collect();
    let upd = "appointment_updated".to_string();
    assert_eq!(got[0], vec![("appointment_created".into(), s(0)), (upd.clone(), s(3)), (upd.clone(), s(5))]);
    assert_eq!(
        got[1],
        vec![("appointment_created".into(), s(0)), ("appointment_deleted".into(), s(4)), (upd.clone(), s(5))]
    );
    assert_eq!(got[2], vec![("notification".into(), s(1)), (upd.clone(), s(3)), (upd.clone(), s(5))]);
    assert_eq!(got[3], vec![("appointment_created".into(), s(0)), (upd, s(5))]);
}

/// The seqs of logged events `who` may see, after `after`.
fn visible(srv: &Server, after: i64, who: i64, is_operator: bool) -> Vec<i64> {
    let store = royal_care::store::Store::open(&srv.db).unwrap();
    let evs = store.read(|c| royal_care::events::after(c, after, 100_000)).unwrap();
    evs.iter().filter(|e| !e.is_internal() && e.audience.includes(who, is_operator)).map(|e| e.seq).collect()
}

#[test]
fn resume_replays_exactly_the_missed_events_while_writes_go_on() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let tess = srv.user("tess", "therapist");
    let tess_id = user_id(&srv, &tess);
    let (mut ws, first) = open(&srv, &tess);
    let epoch = first["epoch"].as_str().unwrap().to_string();
    let start = first["seq"].as_i64().unwrap();
    let _ = op;

    // A writer that keeps committing, half of it visible to tess, the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (srv.db.clone(), stop.clone());
        std::thread::spawn(move || {
            let store = royal_care::store::Store::open(&db).unwrap();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let aud = if i % 2 == 0 { Audience::operators_and([tess_id]) } else { Audience::operators_and([]) };
                store.write(|tx| tx.emit(updated(i, aud))).unwrap();
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };

    let mut seen: Vec<i64> = Vec::new();
    let mut last = start;
    for round in 0..8 {
        // Read a little live, then drop the socket mid-stream.
        for _ in 0..5 {
            let v = ws.next_json(10 * SEC).unwrap();
            let seq = v["seq"].as_i64().unwrap();
            seen.push(seq);
            last = seq;
        }
        drop(ws);
        // Away for a while (writes continue), then reconnect with since.
        std::thread::sleep(Duration::from_millis(20 + 10 * round));
        ws = connect(&srv, &format!("token={tess}&since={last}&epoch={epoch}"), &[]).unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    // A final marker, then everything up to it must have arrived.
    let marker = inject(&srv, vec![updated(-1, Audience::operators_and([tess_id]))])[0];
    loop {
        let v = ws.next_json(10 * SEC).unwrap();
        assert_ne!(v["type"], "initial_data", "a resume must not resync: {v}");
        let seq = v["seq"].as_i64().unwrap();
        seen.push(seq);
        if seq == marker {
            break;
        }
    }
    let expected = visible(&srv, start, tess_id, false);
    let dups = seen.len() - seen.iter().collect::<HashSet<_>>().len();
    assert_eq!(dups, 0, "duplicates in {seen:?}");
    assert_eq!(seen, expected, "gap or disorder");
    assert!(seen.len() > 45);
}

#[test]
fn an_unusable_since_gets_initial_data_with_resync() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let (_, first) = open(&srv, &op);
    let epoch = first["epoch"].as_str().unwrap().to_string();
    let seqs = inject(&srv, (0..5).map(|i| updated(i, Audience::operators_and([]))).collect());
    let last = seqs[4];
    let resync = |query: String| {
        let mut ws = connect(&srv, &format!("token={op}&{query}"), &[]).unwrap();
        let v = ws.next_json(5 * SEC).unwrap();
        (v["type"] == "initial_data" && v["resync"] == true, v)
    };
    for q in [
        format!("since={}", last + 1),
        "since=abc".into(),
        "since=-1".into(),
        format!("since={}&epoch=0123456789abcdef", seqs[0]),
    ] {
        let (ok, v) = resync(q.clone());
        assert!(ok, "{q}: {v}");
        assert_eq!(v["seq"], last);
    }
    // A since still covered by the log replays; once pruned, it resyncs.
    let (ok, v) = resync(format!("since={}&epoch={epoch}", seqs[1]));
    assert!(!ok && v["seq"] == seqs[2], "{v}");
    let conn = rusqlite::Connection::open(&srv.db).unwrap();
    conn.execute("DELETE FROM events WHERE seq <= ?1", [seqs[2]]).unwrap();
    let (ok, _) = resync(format!("since={}&epoch={epoch}", seqs[1]));
    assert!(ok, "pruned since must resync");
    let (ok, v) = resync(format!("since={}&epoch={epoch}", seqs[2]));
    assert!(!ok && v["seq"] == seqs[3], "{v}");
}

#[test]
fn a_client_that_cannot_keep_up_is_closed_with_4008_and_slows_no_one() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let (mut fast, _) = open(&srv, &op);
    let (mut slow, _) = open(&srv, &op);
    // The fast reader reads all along, on its own thread, reporting each seq. The writer
    // waits for each batch to reach it before the next, so the fast reader is never more
    // than one batch (100 < its 1,024-frame queue) behind, even on a loaded machine, while
    // the slow one (never reading) falls 3,000 behind.
    let (got_tx, got_rx) = std::sync::mpsc::channel::<i64>();
    let reader = std::thread::spawn(move || {
        while let Ok(v) = fast.next_json(30 * SEC) {
            let done = v["final"] == true;
            if got_tx.send(v["seq"].as_i64().unwrap()).is_err() || done {
                break;
            }
        }
    });
    // ~24 MB of events: far more than the slow socket's kernel buffers plus its queue.
    let pad = "x".repeat(8 * 1024);
    let mut all = Vec::new();
    let mut seqs = Vec::new();
    for batch in 0..30 {
        let drafts = (0..100)
            .map(|i| EventDraft {
                kind: royal_care::events::APPOINTMENT_UPDATED,
                appointment_id: Some(batch * 100 + i),
                audience: Audience::operators_and([]),
                payload: json!({"appointment": {"id": i, "notes": pad}, "updated_fields": ["notes"], "final": batch == 29 && i == 99}),
            })
            .collect();
        let injected = inject(&srv, drafts);
        let last = *injected.last().unwrap();
        all.extend(injected);
        // The fast socket gets the batch while the slow one is still connected and full.
        while seqs.last() != Some(&last) {
            seqs.push(got_rx.recv_timeout(30 * SEC).expect("the fast reader stalled: a slow socket slowed it"));
        }
    }
    reader.join().unwrap();
    // The fast reader got every event, in order.
    assert_eq!(seqs, all);
    // The slow one finds, after what was already buffered, a 4008.
    let (code, reason, _) = slow.expect_close(20 * SEC);
    assert_eq!(code, 4008, "{reason}");
    assert!(srv.wait_log("closed: 4008", 5 * SEC));
}
