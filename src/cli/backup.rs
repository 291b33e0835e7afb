//! `royal-care backup FILE`: a consistent snapshot (SQLite `VACUUM INTO`), safe while the
//! server runs and writes. The copy gets a new event-stream epoch, so clients that
//! resume against a restored copy resync instead of trusting old sequence numbers.

use std::path::Path;

pub fn run(db: &Path, file: &Path) -> Result<(), String> {
    let store = super::open_existing(db)?;
    store.backup_to(file)?;
    println!("Backed up {} to {}.", db.display(), file.display());
    Ok(())
}
