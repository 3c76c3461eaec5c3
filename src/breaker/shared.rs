//! The shared store: one memory-mapped file of fixed slots that every process on the host
//! maps. Calls touch only atomics in the mapping; the file lock (`flock`) is taken only
//! while opening the store or claiming a slot, and the kernel drops it if a process dies.
//!
//! File layout: a 4096-byte header, then `capacity` slots of `size_of::<Slot>()` bytes.
//! Header words: magic, `layout_version << 32 | slot_size`, capacity, boot id (2 words),
//! checksum of the previous five. A file from another boot (its monotonic times are
//! meaningless now) or another layout version is reinitialised; a file that is not ours, or
//! whose header does not add up, is refused.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::*;

use rustix::fs::{flock, FlockOperation};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use serde::Deserialize;

use super::config::BreakerConfig;
use super::fnv1a;
use super::slot::{Slot, SLOT_FREE, SLOT_READY};
use crate::error::{Error, Result};

const MAGIC: u64 = u64::from_le_bytes(*b"TMLBRKRS");
/// Bump whenever `Slot` or the header changes shape.
pub const LAYOUT_VERSION: u32 = 1;
const HEADER_SIZE: usize = 4096;
const HEADER_WORDS: usize = 6;
/// Most slots one store file may hold.
pub const MAX_CAPACITY: u32 = 4096;

/// Where and how the shared store file is created.
///
/// ```
/// use tenantml::breaker::SharedStoreOptions;
/// let o: SharedStoreOptions = serde_json::from_str(r#"{"dir": "/tmp", "capacity": 16}"#).unwrap();
/// assert_eq!(o.file_name, "tenantml-breakers.shm");
/// assert_eq!(o.mode, 0o660);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharedStoreOptions {
    /// Directory of the file; `/dev/shm` (memory-backed) by default. Created if missing.
    pub dir: PathBuf,
    /// File name inside `dir`.
    pub file_name: String,
    /// Number of breaker slots when the file is created (an existing file keeps its own).
    pub capacity: u32,
    /// Permission bits of a new file (0660: the web server's group can share it).
    pub mode: u32,
}

impl Default for SharedStoreOptions {
    fn default() -> Self {
        SharedStoreOptions {
            dir: PathBuf::from("/dev/shm"),
            file_name: "tenantml-breakers.shm".into(),
            capacity: 128,
            mode: 0o660,
        }
    }
}

impl SharedStoreOptions {
    /// Defaults, in another directory.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        SharedStoreOptions {
            dir: dir.into(),
            ..Default::default()
        }
    }

    fn validate(&self) -> Result<()> {
        if self.capacity == 0 || self.capacity > MAX_CAPACITY {
            return Err(Error::InvalidArgument(format!(
                "capacity must be in 1..={MAX_CAPACITY}, got {}",
                self.capacity
            )));
        }
        if self.file_name.is_empty()
            || self.file_name.contains('/')
            || self.file_name == "."
            || self.file_name == ".."
        {
            return Err(Error::InvalidArgument(format!(
                "file_name must be a plain file name, got {:?}",
                self.file_name
            )));
        }
        if self.mode > 0o777 {
            return Err(Error::InvalidArgument(format!(
                "mode must be permission bits (at most 0o777), got {:o}",
                self.mode
            )));
        }
        Ok(())
    }
}

/// An open, mapped store file.
pub(crate) struct SharedFile {
    path: PathBuf,
    file: File,
    base: NonNull<u8>,
    len: usize,
    capacity: usize,
}

// SAFETY: the mapping is only accessed through atomics (slots) or under the file lock
// (header), and it stays mapped until drop.
unsafe impl Send for SharedFile {}
unsafe impl Sync for SharedFile {}

impl Drop for SharedFile {
    fn drop(&mut self) {
        // SAFETY: base/len came from a successful mmap; every SlotRef into it holds an Arc
        // to this file, so none outlives the unmap.
        unsafe {
            let _ = munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// Holds the store file's exclusive lock until dropped.
pub(crate) struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    pub(crate) fn new(file: &'a File, path: &Path) -> Result<Self> {
        flock(file, FlockOperation::LockExclusive)
            .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
        Ok(Locked(file))
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = flock(self.0, FlockOperation::Unlock);
    }
}

fn slot_size() -> usize {
    std::mem::size_of::<Slot>()
}

fn file_len(capacity: usize) -> usize {
    HEADER_SIZE + capacity * slot_size()
}

/// This boot's id, so a file surviving a reboot (with stale monotonic times) is reset.
fn boot_id() -> [u64; 2] {
    let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    let value = u128::from_str_radix(&hex, 16).unwrap_or(0);
    [(value >> 64) as u64, value as u64]
}

fn checksum(words: &[u64]) -> u64 {
    fnv1a(words.iter().flat_map(|w| w.to_le_bytes()))
}

fn header_for(capacity: usize) -> [u64; HEADER_WORDS] {
    let [boot_hi, boot_lo] = boot_id();
    let mut words = [
        MAGIC,
        (u64::from(LAYOUT_VERSION) << 32) | slot_size() as u64,
        capacity as u64,
        boot_hi,
        boot_lo,
        0,
    ];
    words[5] = checksum(&words[..5]);
    words
}

fn encode(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

impl SharedFile {
    pub(crate) fn open(options: &SharedStoreOptions) -> Result<SharedFile> {
        options.validate()?;
        if !options.dir.exists() {
            std::fs::create_dir_all(&options.dir)
                .map_err(|e| Error::io(format!("creating {}", options.dir.display()), e))?;
        }
        let path = options.dir.join(&options.file_name);
        let file = open_no_follow(&path, options.mode)?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
        if !meta.file_type().is_file() {
            return Err(Error::StoreCorrupt(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let _lock = Locked::new(&file, &path)?;
        let size = file
            .metadata()
            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
            .len() as usize;
        let capacity = prepare(&file, &path, size, options.capacity as usize)?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
            .len() as usize;
        // SAFETY: a fresh shared read/write mapping of a file we hold open; it is only
        // touched through atomics and unmapped in Drop.
        let base = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &file,
                0,
            )
        }
        .map_err(|e| Error::io(format!("mapping {}", path.display()), e))?;
        let base = NonNull::new(base.cast::<u8>())
            .ok_or_else(|| Error::StoreCorrupt("mmap returned NULL".into()))?;
        drop(_lock);
        Ok(SharedFile {
            path,
            file,
            base,
            len,
            capacity,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn slot(&self, index: usize) -> NonNull<Slot> {
        debug_assert!(index < self.capacity);
        // SAFETY: HEADER_SIZE + index * slot_size is within the mapping (checked at open:
        // len >= file_len(capacity)), and page-aligned base + 4096 + k * size_of::<Slot>()
        // is aligned for Slot (its size is a multiple of its 8-byte alignment).
        unsafe {
            NonNull::new_unchecked(
                self.base
                    .as_ptr()
                    .add(HEADER_SIZE + index * slot_size())
                    .cast::<Slot>(),
            )
        }
    }

    fn slot_ref(&self, index: usize) -> &Slot {
        // SAFETY: see `slot`; the mapping lives as long as &self.
        unsafe { self.slot(index).as_ref() }
    }

    /// Finds the slot named `name`, or claims a free one for it (under the file lock).
    pub(crate) fn find_or_claim(
        &self,
        name: &str,
        config: &BreakerConfig,
    ) -> Result<NonNull<Slot>> {
        let _lock = Locked::new(&self.file, &self.path)?;
        let start = (fnv1a(name.bytes()) % self.capacity as u64) as usize;
        for step in 0..self.capacity {
            let index = (start + step) % self.capacity;
            let slot = self.slot_ref(index);
            match slot.status.load(Acquire) {
                SLOT_READY => {
                    if slot.name().is_none() {
                        return Err(Error::StoreCorrupt(format!(
                            "slot {index} of {} is claimed but has no valid name",
                            self.path.display()
                        )));
                    }
                    if slot.name_is(name) {
                        return Ok(self.slot(index));
                    }
                }
                SLOT_FREE => {
                    slot.claim(name, config);
                    return Ok(self.slot(index));
                }
                other => {
                    return Err(Error::StoreCorrupt(format!(
                        "slot {index} of {} has unknown status {other}",
                        self.path.display()
                    )))
                }
            }
        }
        Err(Error::StoreFull {
            capacity: self.capacity,
        })
    }

    pub(crate) fn claimed_slots(&self) -> impl Iterator<Item = &Slot> {
        (0..self.capacity)
            .map(|i| self.slot_ref(i))
            .filter(|slot| slot.status.load(Acquire) == SLOT_READY)
    }
}

pub(crate) fn open_no_follow(path: &Path, mode: u32) -> Result<File> {
    let io = |e: std::io::Error| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            Error::StoreCorrupt(format!(
                "{} is a symbolic link; refusing to follow it",
                path.display()
            ))
        } else if e.raw_os_error() == Some(rustix::io::Errno::ISDIR.raw_os_error()) {
            // Opening a directory read-write fails before the regular-file check in `open`.
            Error::StoreCorrupt(format!(
                "{} is not a regular file (a directory)",
                path.display()
            ))
        } else {
            Error::io(format!("opening {}", path.display()), e)
        }
    };
    let no_follow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(no_follow)
        .open(path);
    match created {
        Ok(file) => {
            // The umask may have narrowed the mode; other workers need exactly `mode`.
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(io)?;
            Ok(file)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(no_follow)
            .open(path)
            .map_err(io),
        Err(e) => Err(io(e)),
    }
}

/// Checks or (re)writes the header under the lock; returns the store's capacity.
fn prepare(file: &File, path: &Path, size: usize, requested_capacity: usize) -> Result<usize> {
    let corrupt = |why: String| Error::StoreCorrupt(format!("{}: {why}", path.display()));
    let io = |what: &str, e: std::io::Error| Error::io(format!("{what} {}", path.display()), e);
    if size == 0 {
        return initialise(file, path, 0, requested_capacity);
    }
    let mut raw = [0u8; HEADER_WORDS * 8];
    let readable = size.min(raw.len());
    file.read_exact_at(&mut raw[..readable], 0)
        .map_err(|e| io("reading", e))?;
    let words: Vec<u64> = raw
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if readable < 8 {
        return Err(corrupt(format!(
            "not a tenantml breaker store (only {size} bytes); remove it or choose another file name"
        )));
    }
    if words[0] != MAGIC {
        return Err(corrupt(format!(
            "not a tenantml breaker store (magic {:016x}); remove it or choose another file name",
            words[0]
        )));
    }
    if readable < raw.len() {
        return Err(corrupt(format!(
            "file is {size} bytes, too short for a breaker store header"
        )));
    }
    let version = (words[1] >> 32) as u32;
    if version != LAYOUT_VERSION {
        // Another layout: start afresh.
        return initialise(file, path, size, requested_capacity);
    }
    // Checked before the boot id, which it covers: a damaged header is refused, never
    // mistaken for one from another boot and overwritten.
    if checksum(&words[..5]) != words[5] {
        return Err(corrupt("header checksum mismatch".into()));
    }
    if [words[3], words[4]] != boot_id() {
        // Monotonic times from before a reboot: start afresh.
        return initialise(file, path, size, requested_capacity);
    }
    if (words[1] & 0xFFFF_FFFF) as usize != slot_size() {
        return Err(corrupt(format!(
            "slot size {} does not match this build's {}",
            words[1] & 0xFFFF_FFFF,
            slot_size()
        )));
    }
    let capacity = words[2] as usize;
    if capacity == 0 || capacity > MAX_CAPACITY as usize {
        return Err(corrupt(format!("capacity {capacity} out of range")));
    }
    if size < file_len(capacity) {
        return Err(corrupt(format!(
            "file is {size} bytes, a store of {capacity} slots needs {}",
            file_len(capacity)
        )));
    }
    Ok(capacity)
}

fn initialise(file: &File, path: &Path, size: usize, capacity: usize) -> Result<usize> {
    let io = |what: &str, e: std::io::Error| Error::io(format!("{what} {}", path.display()), e);
    let needed = file_len(capacity);
    // Zero what exists (never shrink a file others may map), then grow with zeros.
    let zeros = vec![0u8; 1 << 16];
    let mut offset = 0;
    while offset < size {
        let n = zeros.len().min(size - offset);
        file.write_all_at(&zeros[..n], offset as u64)
            .map_err(|e| io("clearing", e))?;
        offset += n;
    }
    if size < needed {
        file.set_len(needed as u64).map_err(|e| io("sizing", e))?;
    }
    file.write_all_at(&encode(&header_for(capacity)), 0)
        .map_err(|e| io("writing header of", e))?;
    file.sync_data().map_err(|e| io("syncing", e))?;
    Ok(capacity)
}
