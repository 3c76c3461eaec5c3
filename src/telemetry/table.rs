//! The slot table behind a [`Telemetry`](super::Telemetry): on the heap of this process, or
//! in a memory-mapped file every process on the host maps. Recording touches only atomics;
//! claiming a new series takes a lock (a mutex, or `flock` on the file, which the kernel
//! drops if a process dies), and a claimed slot is never freed, so lock-free probes stay
//! valid.
//!
//! File layout: a 4096-byte header, then `capacity` slots of `size_of::<MetricSlot>()`
//! bytes. Header words: magic, `layout_version << 32 | slot_size`, capacity, checksum of
//! the previous three; word 8 counts records dropped because the table was full. A file of
//! another layout version is reinitialised; a file that is not ours, or whose header does
//! not add up, is refused.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::*;
use std::sync::Mutex;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use super::slot::{Key, MetricSlot, SlotValues, SLOT_FREE, SLOT_READY};
use super::TelemetryOptions;
use crate::breaker::fnv1a;
use crate::breaker::shared::{open_no_follow, Locked};
use crate::error::{Error, Result};

const MAGIC: u64 = u64::from_le_bytes(*b"TMLMETRC");
/// Bump whenever `MetricSlot`, the key hash or the header changes shape.
pub const LAYOUT_VERSION: u32 = 1;
const HEADER_SIZE: usize = 4096;
const HEADER_WORDS: usize = 4;
const DROPPED_WORD: usize = 8;
/// Most series one table may hold.
pub const MAX_CAPACITY: u32 = 65_536;

fn slot_size() -> usize {
    std::mem::size_of::<MetricSlot>()
}

fn file_len(capacity: usize) -> usize {
    HEADER_SIZE + capacity * slot_size()
}

pub(crate) enum Backing {
    Heap {
        slots: Box<[MetricSlot]>,
        dropped: AtomicU64,
        claim: Mutex<()>,
    },
    Mapped {
        path: PathBuf,
        file: File,
        base: NonNull<u8>,
        len: usize,
        capacity: usize,
    },
}

// SAFETY: the mapping is only accessed through atomics (slots, dropped counter) or under
// the file lock (header), and it stays mapped until drop.
unsafe impl Send for Backing {}
unsafe impl Sync for Backing {}

impl Drop for Backing {
    fn drop(&mut self) {
        if let Backing::Mapped { base, len, .. } = self {
            // SAFETY: base/len came from a successful mmap; slots are only borrowed from
            // `&self`, so none outlives the unmap.
            unsafe {
                let _ = munmap(base.as_ptr().cast(), *len);
            }
        }
    }
}

pub(crate) struct Full;

impl Backing {
    pub fn heap(capacity: usize) -> Backing {
        Backing::Heap {
            slots: (0..capacity).map(|_| MetricSlot::default()).collect(),
            dropped: AtomicU64::new(0),
            claim: Mutex::new(()),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            Backing::Mapped { path, .. } => Some(path),
            Backing::Heap { .. } => None,
        }
    }

    pub fn capacity(&self) -> usize {
        match self {
            Backing::Heap { slots, .. } => slots.len(),
            Backing::Mapped { capacity, .. } => *capacity,
        }
    }

    #[inline]
    fn slot(&self, index: usize) -> &MetricSlot {
        match self {
            Backing::Heap { slots, .. } => &slots[index],
            Backing::Mapped { base, capacity, .. } => {
                assert!(index < *capacity);
                // SAFETY: HEADER_SIZE + index * slot_size is within the mapping (checked at
                // open: len >= file_len(capacity)); page-aligned base + 4096 + k * size is
                // aligned for MetricSlot (size a multiple of its 8-byte alignment); the
                // mapping lives as long as &self.
                unsafe {
                    &*base
                        .as_ptr()
                        .add(HEADER_SIZE + index * slot_size())
                        .cast::<MetricSlot>()
                }
            }
        }
    }

    pub fn dropped(&self) -> &AtomicU64 {
        match self {
            Backing::Heap { dropped, .. } => dropped,
            // SAFETY: word 8 of the page-aligned header, inside the mapping, only ever
            // accessed atomically.
            Backing::Mapped { base, .. } => unsafe {
                &*base.as_ptr().add(DROPPED_WORD * 8).cast::<AtomicU64>()
            },
        }
    }

    /// The slot of `key`, claiming a free one when it is new. `Err(Full)` when every slot
    /// holds another series or the table is damaged: recording must not fail, so callers
    /// count it as dropped.
    #[inline]
    pub fn find_or_claim(&self, key: &Key<'_>) -> std::result::Result<&MetricSlot, Full> {
        let hash = key.hash();
        let capacity = self.capacity();
        let start = (hash % capacity as u64) as usize;
        for step in 0..capacity {
            let slot = self.slot((start + step) % capacity);
            match slot.status.load(Acquire) {
                SLOT_READY if slot.holds(key, hash) => return Ok(slot),
                SLOT_READY => continue,
                SLOT_FREE => return self.claim(key, hash, start),
                _ => return Err(Full),
            }
        }
        Err(Full)
    }

    #[cold]
    fn claim(
        &self,
        key: &Key<'_>,
        hash: u64,
        start: usize,
    ) -> std::result::Result<&MetricSlot, Full> {
        let _guard = match self {
            Backing::Heap { claim, .. } => Claim::Mutex(
                claim
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
            Backing::Mapped { file, path, .. } => {
                Claim::File(Locked::new(file, path).map_err(|_| Full)?)
            }
        };
        // Probe again under the lock: another thread or process may have claimed it.
        let capacity = self.capacity();
        for step in 0..capacity {
            let slot = self.slot((start + step) % capacity);
            match slot.status.load(Acquire) {
                SLOT_READY if slot.holds(key, hash) => return Ok(slot),
                SLOT_READY => continue,
                SLOT_FREE => {
                    slot.claim(key, hash);
                    return Ok(slot);
                }
                _ => return Err(Full),
            }
        }
        Err(Full)
    }

    /// Every claimed series.
    pub fn values(&self) -> Result<Vec<SlotValues>> {
        let mut out = Vec::new();
        for index in 0..self.capacity() {
            let slot = self.slot(index);
            match slot.status.load(Acquire) {
                SLOT_FREE => {}
                SLOT_READY => out.push(slot.values().ok_or_else(|| self.corrupt(index))?),
                _ => return Err(self.corrupt(index)),
            }
        }
        Ok(out)
    }

    fn corrupt(&self, index: usize) -> Error {
        Error::StoreCorrupt(format!(
            "metrics slot {index} of {} does not decode",
            self.path().map_or_else(
                || "the in-process table".into(),
                |p| p.display().to_string()
            )
        ))
    }

    pub fn open(options: &TelemetryOptions) -> Result<Backing> {
        options.validate()?;
        if let Some(dir) = options.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            }
        }
        let path = options.path.clone();
        let file = open_no_follow(&path, options.mode)?;
        let stat = |file: &File| {
            file.metadata()
                .map_err(|e| Error::io(format!("stat {}", path.display()), e))
        };
        if !stat(&file)?.file_type().is_file() {
            return Err(Error::StoreCorrupt(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let lock = Locked::new(&file, &path)?;
        let size = stat(&file)?.len() as usize;
        let capacity = prepare(&file, &path, size, options.capacity as usize)?;
        let len = stat(&file)?.len() as usize;
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
        drop(lock);
        Ok(Backing::Mapped {
            path,
            file,
            base,
            len,
            capacity,
        })
    }
}

enum Claim<'a> {
    Mutex(#[allow(dead_code)] std::sync::MutexGuard<'a, ()>),
    File(#[allow(dead_code)] Locked<'a>),
}

fn checksum(words: &[u64]) -> u64 {
    fnv1a(words.iter().flat_map(|w| w.to_le_bytes()))
}

fn header_for(capacity: usize) -> Vec<u8> {
    let mut words = [
        MAGIC,
        (u64::from(LAYOUT_VERSION) << 32) | slot_size() as u64,
        capacity as u64,
        0,
    ];
    words[3] = checksum(&words[..3]);
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Checks or (re)writes the header under the lock; returns the table's capacity.
fn prepare(file: &File, path: &Path, size: usize, requested_capacity: usize) -> Result<usize> {
    let corrupt = |why: String| Error::StoreCorrupt(format!("{}: {why}", path.display()));
    if size == 0 {
        return initialise(file, path, 0, requested_capacity);
    }
    let mut raw = [0u8; HEADER_WORDS * 8];
    let readable = size.min(raw.len());
    file.read_exact_at(&mut raw[..readable], 0)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let words: Vec<u64> = raw
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if readable < 8 || words[0] != MAGIC {
        return Err(corrupt(
            "not a tenantml metrics file; remove it or choose another path".into(),
        ));
    }
    if readable < raw.len() {
        return Err(corrupt(format!(
            "file is {size} bytes, too short for a metrics file header"
        )));
    }
    if (words[1] >> 32) as u32 != LAYOUT_VERSION {
        // Another layout: start afresh (counters restart, as after a reboot).
        return initialise(file, path, size, requested_capacity);
    }
    if checksum(&words[..3]) != words[3] {
        return Err(corrupt("header checksum mismatch".into()));
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
            "file is {size} bytes, a table of {capacity} slots needs {}",
            file_len(capacity)
        )));
    }
    Ok(capacity)
}

fn initialise(file: &File, path: &Path, size: usize, capacity: usize) -> Result<usize> {
    let io = |what: &str, e: std::io::Error| Error::io(format!("{what} {}", path.display()), e);
    // Zero what exists (never shrink a file others may map), then grow with zeros.
    let zeros = vec![0u8; 1 << 16];
    let mut offset = 0;
    while offset < size {
        let n = zeros.len().min(size - offset);
        file.write_all_at(&zeros[..n], offset as u64)
            .map_err(|e| io("clearing", e))?;
        offset += n;
    }
    let needed = file_len(capacity);
    if size < needed {
        file.set_len(needed as u64).map_err(|e| io("sizing", e))?;
    }
    file.write_all_at(&header_for(capacity), 0)
        .map_err(|e| io("writing header of", e))?;
    Ok(capacity)
}
