//! The registry's on-disk mechanics: the per-model lock, writing a file under a name that
//! must not exist yet, bounded reads and the directory scan that tells complete versions
//! from leftovers of a killed writer.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Name of the per-model lock file; every writer holds an exclusive `flock` on it.
pub(crate) const LOCK_FILE: &str = ".lock";
/// Name of the promotion pointer.
pub(crate) const POINTER_FILE: &str = "CURRENT";
/// Largest sidecar or pointer read: both are small JSON documents, and a bound keeps a
/// damaged or foreign file from exhausting memory.
pub(crate) const MAX_JSON_BYTES: u64 = 4 << 20;

/// An exclusive lock on one model's directory, released when dropped (and by the kernel
/// when the holder dies, so a killed writer never leaves the registry locked).
pub(crate) struct DirLock {
    _file: File,
}

pub(crate) fn lock(dir: &Path) -> Result<DirLock> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
    Ok(DirLock { _file: file })
}

fn temp_path(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes `bytes` to `dir/name` only if that name does not exist: a temporary file is
/// written and fsynced, then hard-linked onto the name (which fails instead of replacing
/// an existing file). Returns `false` when the name was taken. The caller holds the lock,
/// so the name check is a second line of defence, not the allocation itself.
pub(crate) fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Result<bool> {
    let tmp = temp_path(dir);
    let target = dir.join(name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        drop(f);
        match std::fs::hard_link(&tmp, &target) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            // Some file systems have no hard links; under the lock a checked rename is
            // equivalent.
            Err(_) if !target.exists() => std::fs::rename(&tmp, &target)
                .map(|_| true)
                .map_err(|e| Error::io(format!("renaming onto {}", target.display()), e)),
            Err(e) => Err(Error::io(format!("linking {}", target.display()), e)),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Flushes a directory's entries (new names, removals) to disk where the platform allows.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads a small file, refusing one larger than `limit` bytes. `Ok(None)` if it does not
/// exist.
pub(crate) fn read_small(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::RegistryCorrupt(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// What a model directory holds.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Versions with a sidecar (visible), ascending.
    pub(crate) versions: Vec<u64>,
    /// Leftovers of interrupted saves: temporary files and model files without a sidecar.
    pub(crate) stale: Vec<PathBuf>,
}

/// The version number a file name `<version>.<ext>` carries (canonical decimal only).
fn version_of(file_name: &str, ext: &str) -> Option<u64> {
    let stem = file_name.strip_suffix(ext)?.strip_suffix('.')?;
    let canonical = !stem.is_empty()
        && stem.bytes().all(|b| b.is_ascii_digit())
        && (stem == "0" || !stem.starts_with('0'));
    canonical.then(|| stem.parse().ok()).flatten()
}

pub(crate) fn model_file(version: u64) -> String {
    format!("{version}.tml")
}

pub(crate) fn sidecar_file(version: u64) -> String {
    format!("{version}.json")
}

pub(crate) fn scan(dir: &Path) -> Result<Scan> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut models = Vec::new();
    let mut scan = Scan::default();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(v) = version_of(name, "json") {
            scan.versions.push(v);
        } else if let Some(v) = version_of(name, "tml") {
            models.push(v);
        } else if name.starts_with('.') && name.contains(".tmp-") {
            scan.stale.push(entry.path());
        }
    }
    scan.versions.sort_unstable();
    for v in models {
        if scan.versions.binary_search(&v).is_err() {
            scan.stale.push(dir.join(model_file(v)));
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_version_names_count() {
        assert_eq!(version_of("12.json", "json"), Some(12));
        assert_eq!(version_of("012.json", "json"), None);
        assert_eq!(version_of(".json", "json"), None);
        assert_eq!(version_of("1a.json", "json"), None);
        assert_eq!(version_of("12.tml", "json"), None);
        assert_eq!(version_of("99999999999999999999999.json", "json"), None);
    }
}
