//! Reading the clinic's Django data, whichever form it comes in, into one shape: the
//! records of `manage.py dumpdata` (`{"model", "pk", "fields"}`, a foreign key under its
//! field name without `_id`, a many-to-many field as a list of ids). A Django SQLite file
//! is read table by table into the same shape, so the mapping (`super::rows`) has one
//! input whatever database the clinic ran (a PostgreSQL clinic dumps to JSON).

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// One row of the original: its primary key and its other fields.
#[derive(Debug, Clone)]
pub struct Record {
    pub pk: Value,
    pub fields: Map<String, Value>,
}

/// The original's tables this import reads, as `app.model` (dumpdata's name) and the
/// SQLite table name. The first four must exist in a SQLite file; the others may be
/// missing from an older installation.
pub const MODELS: &[(&str, &str)] = &[
    ("core.customuser", "core_customuser"),
    ("scheduling.client", "scheduling_client"),
    ("registration.service", "registration_service"),
    ("scheduling.appointment", "scheduling_appointment"),
    ("knox.authtoken", "knox_authtoken"),
    ("scheduling.availability", "scheduling_availability"),
    ("scheduling.notification", "scheduling_notification"),
];
const REQUIRED_TABLES: usize = 4;

/// Many-to-many tables of appointments: (field, table).
const APPOINTMENT_M2M: &[(&str, &str)] =
    &[("therapists", "scheduling_appointment_therapists"), ("services", "scheduling_appointment_services")];

/// The records of each model (absent model = none), and what the source was.
pub struct Source {
    pub kind: &'static str,
    pub records: HashMap<&'static str, Vec<Record>>,
    /// Tables a SQLite file did not have (optional ones only).
    pub missing: Vec<&'static str>,
}

impl Source {
    pub fn of(&self, model: &str) -> &[Record] {
        self.records.get(model).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Reads `path`: a SQLite file (by its header) or dumpdata JSON.
pub fn read(path: &Path) -> Result<Source, String> {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| format!("cannot read {}: {e}; check the path.", path.display()))?;
    if &head[..n] == b"SQLite format 3\0" {
        read_sqlite(path)
    } else {
        read_dumpdata(path)
    }
}

fn read_dumpdata(path: &Path) -> Result<Source, String> {
    let not_dump = |why: String| {
        format!(
            "{} is neither a SQLite database nor the JSON of `manage.py dumpdata` ({why}); give the clinic's db.sqlite3 or a fresh dump.",
            path.display()
        )
    };
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}; check the path.", path.display()))?;
    if text.starts_with(&[0xff, 0xfe]) || text.starts_with(&[0xfe, 0xff]) {
        return Err(format!(
            "{} is UTF-16 text (what PowerShell's `>` writes); dump again with `manage.py dumpdata … -o clinic.json`.",
            path.display()
        ));
    }
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&text);
    let all: Value = serde_json::from_slice(text).map_err(|e| not_dump(format!("not valid JSON: {e}")))?;
    let Value::Array(items) = all else { return Err(not_dump("not a list of records".into())) };
    let mut records: HashMap<&'static str, Vec<Record>> = HashMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut obj) = item else {
            return Err(not_dump(format!("item {i} is not a {{model, pk, fields}} record")));
        };
        let (Some(Value::String(model)), Some(Value::Object(fields))) = (obj.remove("model"), obj.remove("fields"))
        else {
            return Err(not_dump(format!("item {i} has no model and fields")));
        };
        // Other apps' records (auth, contenttypes, sessions…) are not the clinic's data.
        if let Some((m, _)) = MODELS.iter().find(|(m, _)| m.eq_ignore_ascii_case(&model)) {
            records.entry(m).or_default().push(Record { pk: obj.remove("pk").unwrap_or(Value::Null), fields });
        }
    }
    if !records.contains_key("core.customuser") {
        return Err(not_dump("it has no core.customuser records: dump the whole database, not one app".into()));
    }
    Ok(Source { kind: "manage.py dumpdata JSON", records, missing: Vec::new() })
}

fn read_sqlite(path: &Path) -> Result<Source, String> {
    let fail = |e: rusqlite::Error| format!("cannot read the SQLite database {}: {e}", path.display());
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(fail)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(fail)?;
    let mut records = HashMap::new();
    let mut missing = Vec::new();
    for (i, (model, table)) in MODELS.iter().enumerate() {
        if !tables.iter().any(|t| t == table) {
            if i < REQUIRED_TABLES {
                return Err(format!(
                    "{} is a SQLite database but not the clinic's Django database (it has no {table} table); give the right file.",
                    path.display()
                ));
            }
            missing.push(*table);
            continue;
        }
        let pk = if *model == "knox.authtoken" { "digest" } else { "id" };
        records.insert(*model, read_table(&conn, table, pk).map_err(fail)?);
    }
    // Many-to-many rows become lists on their appointment, as dumpdata writes them.
    for (field, table) in APPOINTMENT_M2M {
        if !tables.iter().any(|t| t == table) {
            return Err(format!(
                "{} is a SQLite database but not the clinic's Django database (it has no {table} table); give the right file.",
                path.display()
            ));
        }
        let links = read_links(&conn, table).map_err(fail)?;
        for rec in records.get_mut("scheduling.appointment").into_iter().flatten() {
            let ids = rec.pk.as_i64().and_then(|id| links.get(&id)).cloned().unwrap_or_default();
            rec.fields.insert(field.to_string(), Value::Array(ids.into_iter().map(Value::from).collect()));
        }
    }
    Ok(Source { kind: "Django SQLite database", records, missing })
}

/// Every row of `table`, its columns named as dumpdata names the fields (`user_id` →
/// `user`).
fn read_table(conn: &Connection, table: &str, pk: &str) -> rusqlite::Result<Vec<Record>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let rows = stmt.query_map([], |r| {
        let mut fields = Map::new();
        let mut key = Value::Null;
        for (i, name) in names.iter().enumerate() {
            let v = json_of(r.get_ref(i)?);
            if name == pk {
                key = v;
            } else {
                fields.insert(name.strip_suffix("_id").unwrap_or(name).to_string(), v);
            }
        }
        Ok(Record { pk: key, fields })
    })?;
    rows.collect()
}

/// appointment id → the ids it links to, from a Django M2M table
/// (`id, appointment_id, <other>_id`).
fn read_links(conn: &Connection, table: &str) -> rusqlite::Result<HashMap<i64, Vec<i64>>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY id"))?;
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let from = names.iter().position(|n| n == "appointment_id");
    let to = names.iter().position(|n| n != "id" && n != "appointment_id" && n.ends_with("_id"));
    let (Some(from), Some(to)) = (from, to) else { return Ok(HashMap::new()) };
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(from)?, r.get::<_, i64>(to)?)))?;
    for row in rows {
        let (a, b) = row?;
        out.entry(a).or_default().push(b);
    }
    Ok(out)
}

fn json_of(v: ValueRef) -> Value {
    match v {
        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
    }
}
