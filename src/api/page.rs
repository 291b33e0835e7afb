//! List answers: `?page=&page_size=` pagination in DRF's shape plus the query builder the
//! list endpoints share (conditions and named parameters, an `ordering` whitelist).
//! Default page size 50, at most 200 (SPEC §4; a larger `page_size` is read as 200); a page
//! past the end is 404, as in DRF.

use crate::error::{ApiError, ErrorCode, FieldErrors};
use crate::http::{Request, Response};
use rusqlite::{Connection, ToSql};
use serde::Serialize;
use std::collections::HashMap;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;
/// The most rows a plain-array answer holds (the original frontend's lists that are not
/// pages: `appointments/today/`, `by_week/`, `upcoming/`, `staff/active_staff/`, the
/// registration client list); `X-Total-Count` says how many matched.
pub const MAX_PLAIN_ROWS: i64 = 1000;

/// A list query being built: `WHERE` conditions joined by AND, their named parameters,
/// and the `ORDER BY`.
pub struct ListQuery {
    pub conds: Vec<String>,
    pub params: Vec<(String, Box<dyn ToSql>)>,
    pub order: String,
    pub errors: FieldErrors,
}

impl ListQuery {
    pub fn new(default_order: &str) -> Self {
        ListQuery { conds: Vec::new(), params: Vec::new(), order: default_order.into(), errors: FieldErrors::default() }
    }

    pub fn cond(&mut self, sql: impl Into<String>) {
        self.conds.push(sql.into());
    }

    pub fn param(&mut self, name: &str, v: impl ToSql + 'static) {
        self.params.push((name.to_string(), Box::new(v)));
    }

    /// `?search=term`: `cond` (SQL using `:search`) with the term as a LIKE pattern.
    pub fn search(&mut self, req: &Request, cond: &str) {
        if let Some(s) = req.query_param("search").filter(|s| !s.trim().is_empty()) {
            self.cond(cond);
            self.param(":search", like(s.trim()));
        }
    }

    /// `?name=true|false` (or 1/0) on a boolean `column`; absent or empty: no condition.
    pub fn flag(&mut self, req: &Request, name: &str, column: &str) {
        match req.query_param(name).as_deref() {
            None | Some("") => {}
            Some("true" | "1") => self.cond(format!("{column} = 1")),
            Some("false" | "0") => self.cond(format!("{column} = 0")),
            Some(_) => self.errors.add(name, "Must be true or false."),
        }
    }

    /// `?ordering=a,-b` over `allowed` (API name → SQL column); `tie` ends every order.
    pub fn ordering(&mut self, req: &Request, allowed: &[(&str, &str)], tie: &str) {
        let Some(spec) = req.query_param("ordering") else {
            return;
        };
        let mut parts = Vec::new();
        for f in spec.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let (desc, name) = match f.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, f),
            };
            match allowed.iter().find(|(n, _)| *n == name) {
                Some((_, col)) => parts.push(format!("{col}{}", if desc { " DESC" } else { "" })),
                None => {
                    let names: Vec<&str> = allowed.iter().map(|a| a.0).collect();
                    self.errors
                        .add("ordering", format!("Order by one of: {} (prefix - for descending).", names.join(", ")));
                    return;
                }
            }
        }
        if !parts.is_empty() {
            parts.push(tie.to_string());
            self.order = parts.join(", ");
        }
    }

    fn where_sql(&self) -> String {
        if self.conds.is_empty() {
            "1".into()
        } else {
            self.conds.join(" AND ")
        }
    }

    fn named(&self) -> Vec<(&str, &dyn ToSql)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_ref())).collect()
    }

    /// Runs `SELECT <id> FROM <from>` with the conditions; returns (total count, ids on page).
    pub fn run(
        mut self,
        conn: &Connection,
        from: &str,
        id_col: &str,
        page: &Page,
    ) -> Result<(i64, Vec<i64>), ApiError> {
        std::mem::take(&mut self.errors).check()?;
        let w = self.where_sql();
        // Cached: a list is asked for again and again with the same filters, and parsing
        // the SQL would cost more than running it. The page is bound, not written into the
        // text, so every page of a list shares one statement.
        let count: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM {from} WHERE {w}"))?
            .query_row(self.named().as_slice(), |r| r.get(0))?;
        let sql = format!("SELECT {id_col} FROM {from} WHERE {w} ORDER BY {} LIMIT :limit OFFSET :offset", self.order);
        let (limit, offset) = (page.size, (page.number - 1) * page.size);
        let mut params = self.named();
        params.push((":limit", &limit));
        params.push((":offset", &offset));
        let mut st = conn.prepare_cached(&sql)?;
        let ids = st.query_map(params.as_slice(), |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
        Ok((count, ids))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: i64,
    pub size: i64,
}

impl Page {
    pub fn from_request(req: &Request) -> Result<Page, ApiError> {
        let mut errors = FieldErrors::default();
        let mut num = |name: &str, default: i64, max: i64| match req.query_param(name) {
            None => default,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 1 && n <= max => n,
                _ => {
                    errors.add(name, format!("Must be a whole number from 1 to {max}."));
                    default
                }
            },
        };
        let number = num("page", 1, 1_000_000);
        // A page_size over the maximum is read as the maximum, as DRF does (the clinic's
        // original calendar asks for 1000); the answer's `page_size` says what was used.
        let size = match req.query_param("page_size") {
            Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.bytes().any(|b| b != b'0') => {
                v.parse::<i64>().map_or(MAX_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE))
            }
            _ => num("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        };
        errors.check()?;
        Ok(Page { number, size })
    }

    /// What a plain-array answer reads: the first `MAX_PLAIN_ROWS` rows.
    pub fn plain() -> Page {
        Page { number: 1, size: MAX_PLAIN_ROWS }
    }

    /// The page answer for simple rows (clients, services, staff): each id is loaded by
    /// `get` (a primary-key lookup; such pages are small) and shown by `to_json`; a row
    /// deleted meanwhile is skipped.
    pub fn respond_rows<T>(
        &self,
        req: &Request,
        conn: &Connection,
        (count, ids): (i64, Vec<i64>),
        get: impl Fn(&Connection, i64) -> rusqlite::Result<Option<T>>,
        to_json: impl Fn(&T) -> serde_json::Value,
    ) -> Result<Response, ApiError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = get(conn, id)? {
                out.push(to_json(&row));
            }
        }
        self.respond(req, count, &out)
    }

    /// The DRF-style page answer: `{count, total_pages, current_page, page_size, next,
    /// previous, has_next, has_previous, results}`.
    pub fn respond<T: Serialize>(&self, req: &Request, count: i64, results: &[T]) -> Result<Response, ApiError> {
        self.respond_with(req, count, results)
    }

    /// `respond` with any `results` member: the original's notification list puts an
    /// object there (`{notifications: [...], unreadCount}`); `count` still counts rows.
    pub fn respond_with<R: Serialize + ?Sized>(
        &self,
        req: &Request,
        count: i64,
        results: &R,
    ) -> Result<Response, ApiError> {
        let mut failed = None;
        let resp = self.respond_raw(req, count, |out| {
            failed = serde_json::to_writer(out, results).err();
        })?;
        match failed {
            Some(e) => Err(ApiError::internal(e)),
            None => Ok(resp),
        }
    }

    /// The page answer with `results` written by `write_results` (JSON text appended to
    /// the buffer): appointment pages write theirs without serde
    /// (`appointment::write_list`).
    pub fn respond_raw(
        &self,
        req: &Request,
        count: i64,
        write_results: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Response, ApiError> {
        let total_pages = ((count + self.size - 1) / self.size).max(1);
        if self.number > total_pages {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("There is no page {}; the last page is {total_pages}.", self.number),
            ));
        }
        let has_next = self.number < total_pages;
        let has_previous = self.number > 1;
        let link = |n: i64| {
            let mut q: Vec<(String, String)> = req.query().into_iter().filter(|(k, _)| k != "page").collect();
            q.push(("page".into(), n.to_string()));
            let qs: Vec<String> = q.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            // Absolute, as DRF writes them, so a client on another origin can follow them.
            // Scheme and host as the client used them: through a trusted proxy, its
            // X-Forwarded-Proto/-Host; nobody else's (`http::client`).
            let c = req.client();
            let host = if c.host.is_empty() { "localhost" } else { &c.host };
            format!("{}://{host}{}?{}", c.scheme, req.path(), qs.join("&"))
        };
        // Members in sorted order, as a `Value` object's are, serialised straight to the
        // bytes, so a page's results are not first copied into one tree of values.
        let head = PageHead {
            count,
            current_page: self.number,
            has_next,
            has_previous,
            next: has_next.then(|| link(self.number + 1)),
            page_size: self.size,
            previous: has_previous.then(|| link(self.number - 1)),
        };
        let mut out = serde_json::to_vec(&head).map_err(ApiError::internal)?;
        // `{…,"previous":…}` becomes `{…,"previous":…,"results":…,"total_pages":N}`.
        out.pop();
        out.extend_from_slice(b",\"results\":");
        write_results(&mut out);
        out.extend_from_slice(format!(",\"total_pages\":{total_pages}}}").as_bytes());
        Ok(Response::json_bytes(200, out))
    }
}

/// A plain JSON array answer (at most `MAX_PLAIN_ROWS` rows, `Page::plain`) with
/// `X-Total-Count`: how many matched, more than the array holds when the cap cut it.
pub fn respond_plain<T: Serialize>(count: i64, results: &[T]) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(results).map_err(ApiError::internal)?;
    Ok(respond_plain_raw(count, body))
}

/// `respond_plain` with the array's JSON text already written.
pub fn respond_plain_raw(count: i64, body: Vec<u8>) -> Response {
    Response::json_bytes(200, body).header("X-Total-Count", &count.to_string())
}

/// The rows of `ids`, in that order, loaded in one query by `get_many` (a plain array
/// holds up to `MAX_PLAIN_ROWS`) and shown by `to_json`; a row deleted meanwhile is skipped.
pub fn rows_in_order<T>(
    conn: &Connection,
    ids: &[i64],
    get_many: impl Fn(&Connection, Vec<i64>) -> rusqlite::Result<HashMap<i64, T>>,
    to_json: impl Fn(&T) -> serde_json::Value,
) -> rusqlite::Result<Vec<serde_json::Value>> {
    let rows = get_many(conn, ids.to_vec())?;
    Ok(ids.iter().filter_map(|id| rows.get(id)).map(to_json).collect())
}

/// A page answer's members before `results` and `total_pages` (which `respond_raw`
/// appends), in sorted order.
#[derive(Serialize)]
struct PageHead {
    count: i64,
    current_page: i64,
    has_next: bool,
    has_previous: bool,
    next: Option<String>,
    page_size: i64,
    previous: Option<String>,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%term%` for a LIKE search, with LIKE's wildcards escaped (use `ESCAPE '\'`).
fn like(term: &str) -> String {
    let esc = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{esc}%")
}
