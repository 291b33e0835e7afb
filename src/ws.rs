//! WebSocket endpoint `/ws/scheduling/appointments/`. (Stub: filled in by issue 4.)

use crate::app::App;
use crate::error::ApiError;
use crate::http::Request;
use std::net::TcpStream;
use std::sync::Arc;

pub const PATH: &str = "/ws/scheduling/appointments/";

pub fn serve(_app: &Arc<App>, mut stream: TcpStream, _req: Request, _leftover: Vec<u8>) {
    let _ = ApiError::new(501, "not_implemented", "Live updates are not available yet.").into_response().write_to(
        &mut stream,
        false,
        false,
    );
}
