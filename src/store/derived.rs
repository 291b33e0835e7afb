//! Bytes built from one read of the database (e.g. a page of appointments as JSON),
//! kept for reuse while the database has not changed: each entry is stored under the
//! `ReadVersion` of the read it was built from and a key naming everything else the
//! bytes depend on (who asked, the query, the day…), and is found only by a read of
//! the same version, which saw the same content. No write, in this process or another,
//! can leave an entry in use: it changes every later read's version. Bounded in entries
//! and bytes; the oldest go first.

use super::ReadVersion;
use std::sync::{Arc, Mutex};

/// Entries kept at most (the pool's read connections times a few keys each).
const MAX_ENTRIES: usize = 64;
/// Bytes kept at most; an entry larger than an eighth of this is not kept.
const MAX_BYTES: usize = 16 << 20;

struct Entry {
    version: ReadVersion,
    key: String,
    /// Shared with the responses that send it: neither storing nor sending copies it.
    bytes: Arc<Vec<u8>>,
}

/// See the module doc.
#[derive(Default)]
pub struct DerivedCache {
    /// Oldest first.
    entries: Mutex<Vec<Entry>>,
}

impl DerivedCache {
    /// The bytes stored for `key` by a read that saw `version`, if any.
    pub fn get(&self, version: ReadVersion, key: &str) -> Option<Arc<Vec<u8>>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().find(|e| e.version == version && e.key == key).map(|e| e.bytes.clone())
    }

    /// Keeps `bytes`, built for `key` from a read that saw `version`. What the same read
    /// connection stored from an older version goes: no read will see that version again.
    pub fn put(&self, version: ReadVersion, key: String, bytes: Arc<Vec<u8>>) {
        if bytes.capacity() > MAX_BYTES / 8 {
            return;
        }
        // What goes is freed after the lock is let go: freeing pages of ~60 KB while
        // holding it kept the other request threads waiting.
        let mut gone = Vec::new();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut i = 0;
        while i < entries.len() {
            let e = &entries[i];
            if e.version.same_reader(&version) && (e.version != version || e.key == key) {
                gone.push(entries.remove(i));
            } else {
                i += 1;
            }
        }
        entries.push(Entry { version, key, bytes });
        // By capacity: that is what an entry holds on to.
        let mut total: usize = entries.iter().map(|e| e.bytes.capacity()).sum();
        let mut drop = 0;
        while entries.len() - drop > MAX_ENTRIES || total > MAX_BYTES {
            total -= entries[drop].bytes.capacity();
            drop += 1;
        }
        gone.extend(entries.drain(..drop));
        std::mem::drop(entries);
        std::mem::drop(gone);
    }

    /// Entries kept and their bytes (tests).
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap();
        (entries.len(), entries.iter().map(|e| e.bytes.capacity()).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Through real reads of a real file: a read sees its own entry; a write by another
    /// connection (here another `Store`, as `royal-care user …` would be) hides it; the
    /// bounds hold.
    #[test]
    fn an_entry_serves_only_reads_of_the_same_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        let cache = DerivedCache::default();
        let v1 = store.read_at(|_, v| Ok::<_, rusqlite::Error>(v)).unwrap();
        cache.put(v1, "page".into(), Arc::new(b"one".to_vec()));
        let again = store.read_at(|_, v| Ok::<_, rusqlite::Error>(v)).unwrap();
        assert_eq!(again, v1, "nothing changed: the same version");
        assert_eq!(cache.get(again, "page").as_deref().map(Vec::as_slice), Some(&b"one"[..]));
        assert_eq!(cache.get(again, "other"), None);

        let other = Store::open(&path).unwrap();
        other
            .write(|tx| {
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('A', 'x', 'x')", [])
            })
            .unwrap();
        let v2 = store.read_at(|_, v| Ok::<_, rusqlite::Error>(v)).unwrap();
        assert_ne!(v2, v1, "another process's commit makes a new version");
        assert_eq!(cache.get(v2, "page"), None);
        store.write(|tx| tx.execute("UPDATE clients SET first_name = 'B'", [])).unwrap();
        let v3 = store.read_at(|_, v| Ok::<_, rusqlite::Error>(v)).unwrap();
        assert_ne!(v3, v2, "our own writer's commit too");

        // A new version from the same reader replaces what it stored before.
        cache.put(v3, "page".into(), Arc::new(b"three".to_vec()));
        assert_eq!(cache.size(), (1, 5));
        for i in 0..MAX_ENTRIES * 2 {
            cache.put(v3, format!("k{i}"), Arc::new(vec![0u8; 1000]));
        }
        assert_eq!(cache.size(), (MAX_ENTRIES, MAX_ENTRIES * 1000));
        cache.put(v3, "big".into(), Arc::new(vec![0u8; MAX_BYTES / 8 + 1]));
        assert_eq!(cache.get(v3, "big"), None, "too large to keep");
        for i in 0..10 {
            cache.put(v3, format!("b{i}"), Arc::new(vec![0u8; MAX_BYTES / 8]));
        }
        assert!(cache.size().1 <= MAX_BYTES);
    }
}
