//! The accept loop: one thread per connection, at most `max_connections` of them, each
//! with a small stack. A connection over the bound gets a 503 and is closed at once, so a
//! flood cannot make the server spawn without limit. Shutdown stops accepting; `ws` and
//! `hub` close the live sockets.

use crate::app::App;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;

/// Stack per connection thread. Handlers keep little on the stack; SQLite's deepest
/// paths stay well under this. Only touched pages count toward memory use.
pub const CONN_STACK_BYTES: usize = 256 * 1024;

/// Decrements the live-connection count when the connection's thread ends, however it ends.
pub struct ConnSlot(Arc<App>);

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepts until the app is shutting down.
pub fn run(app: Arc<App>, listener: TcpListener) {
    for stream in listener.incoming() {
        if app.is_shutting_down() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                log::warn!("accept failed: {e}");
                thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        accept(&app, stream);
    }
}

fn accept(app: &Arc<App>, stream: TcpStream) {
    let Ok(peer) = stream.peer_addr() else { return };
    let live = app.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let slot = ConnSlot(app.clone());
    if live > app.settings.max_connections {
        drop(slot);
        log::warn!("refused a connection from {}: {} connections open already", peer.ip(), live - 1);
        super::conn::refuse_busy(stream);
        return;
    }
    let app2 = app.clone();
    let spawned = thread::Builder::new().name("conn".into()).stack_size(CONN_STACK_BYTES).spawn(move || {
        let _slot = slot;
        super::conn::run(&app2, stream, peer);
    });
    if let Err(e) = spawned {
        log::warn!("could not start a thread for {}: {e}", peer.ip());
    }
}
