//! `/api/scheduling/notifications/…`: the caller's own notifications, in the original's
//! shape (a page whose `results` is `{notifications: [...], unreadCount}`), and marking
//! and deleting them. Every user reads and changes only their own: another user's id is
//! 404. The rows, their events and the titles are in `scheduling::notifications`.

use super::page::{ListQuery, Page};
use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling::notifications::{self as n, Notification, Which};
use serde_json::json;

/// GET notifications/: newest first; `?is_read=true|false` filters.
pub fn list(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    let page = Page::from_request(req)?;
    let mut q = ListQuery::new("n.created_at DESC, n.id DESC");
    q.cond("n.user_id = :me");
    q.param(":me", who.user.id);
    q.flag(req, "is_read", "n.is_read");
    app.store.read(|conn| {
        let (count, ids) = q.run(conn, "notifications n", "n.id", &page)?;
        let rows = super::page::rows_in_order(conn, &ids, n::get_many, Notification::to_json)?;
        let unread = n::unread_count(conn, who.user.id)?;
        page.respond_with(req, count, &json!({"notifications": rows, "unreadCount": unread}))
    })
}

/// GET or DELETE notifications/{id}/.
pub fn item(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    if req.method() == "DELETE" {
        app.store.write(|tx| n::delete(tx, who.user.id, Which::One(id)))?;
        return Ok(Response::no_content());
    }
    let row = app.store.read(|c| n::get_own(c, who.user.id, id))?;
    Ok(Response::json(200, &row.to_json()))
}

/// POST notifications/{id}/mark_as_read/ or mark_as_unread/: the notification as it is now.
pub fn mark(app: &App, who: &Principal, id: i64, read: bool) -> Result<Response, ApiError> {
    let row = app.store.write(|tx| n::mark(tx, who.user.id, id, read))?;
    Ok(Response::json(200, &row.to_json()))
}

/// POST notifications/mark_all_as_read/: `{updated, unreadCount}`.
pub fn mark_all(app: &App, who: &Principal) -> Result<Response, ApiError> {
    let (updated, unread) = app.store.write(|tx| n::mark_all_read(tx, who.user.id))?;
    Ok(Response::json(200, &json!({"updated": updated, "unreadCount": unread})))
}

/// POST or DELETE notifications/delete_all/ or delete_read/: `{deleted, unreadCount}`.
pub fn delete(app: &App, who: &Principal, which: Which) -> Result<Response, ApiError> {
    let (deleted, unread) = app.store.write(|tx| n::delete(tx, who.user.id, which))?;
    Ok(Response::json(200, &json!({"deleted": deleted, "unreadCount": unread})))
}
