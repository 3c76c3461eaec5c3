//! Where breaker slots live: on the heap of this process, or in a memory-mapped file every
//! process on the host shares. Both hand out the same [`Slot`], so one state machine serves
//! both.

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use super::circuit::{snapshot_of, Breaker, BreakerSnapshot};
use super::clock::{Clock, MonotonicClock};
use super::config::BreakerConfig;
use super::shared::{SharedFile, SharedStoreOptions};
use super::slot::{Slot, MAX_NAME_LEN};
use crate::error::{Error, Result};

/// What to do when a breaker already exists with other settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConfigMismatch {
    /// Refuse with [`Error::ConfigMismatch`]: workers should run the same settings.
    #[default]
    Fail,
    /// Use the stored settings (the first writer's) and ignore the ones given.
    AdoptStored,
}

/// A borrowed slot plus whatever keeps its memory alive (a heap box or a mapping).
pub(crate) struct SlotRef {
    ptr: NonNull<Slot>,
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: a Slot is made only of atomics (Sync), and `_owner` keeps its memory mapped or
// allocated for as long as this reference exists.
unsafe impl Send for SlotRef {}
unsafe impl Sync for SlotRef {}

impl SlotRef {
    /// # Safety
    /// `ptr` must point to a `Slot` that stays valid while `owner` is alive.
    pub(crate) unsafe fn new(ptr: NonNull<Slot>, owner: Arc<dyn Any + Send + Sync>) -> SlotRef {
        SlotRef { ptr, _owner: owner }
    }
}

impl std::ops::Deref for SlotRef {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        // SAFETY: see `SlotRef::new`.
        unsafe { self.ptr.as_ref() }
    }
}

enum Backing {
    InProcess(Mutex<HashMap<String, Arc<Slot>>>),
    Shared(Arc<SharedFile>),
}

/// A set of named breakers.
///
/// ```
/// use tenantml::breaker::{BreakerConfig, BreakerStore, Outcome};
/// let store = BreakerStore::in_process();
/// let breaker = store.breaker("ml-api", BreakerConfig::default())?;
/// let permit = breaker.allow().expect("a closed breaker lets calls through");
/// breaker.record(&permit, Outcome::Success, None);
/// assert_eq!(store.snapshots()?[0].totals.successes, 1);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Clone)]
pub struct BreakerStore {
    backing: Arc<Backing>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BreakerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.backing {
            Backing::InProcess(_) => f.write_str("BreakerStore(in-process)"),
            Backing::Shared(file) => write!(f, "BreakerStore({})", file.path().display()),
        }
    }
}

pub(crate) fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('\0') {
        return Err(Error::InvalidArgument(format!(
            "breaker name must be 1..={MAX_NAME_LEN} bytes without NUL, got {} bytes",
            name.len()
        )));
    }
    Ok(())
}

impl BreakerStore {
    /// Breakers private to this process, kept in atomics on the heap.
    pub fn in_process() -> BreakerStore {
        BreakerStore {
            backing: Arc::new(Backing::InProcess(Mutex::new(HashMap::new()))),
            clock: Arc::new(MonotonicClock),
        }
    }

    /// Breakers shared by every process on the host through a memory-mapped file.
    pub fn shared(options: &SharedStoreOptions) -> Result<BreakerStore> {
        Ok(BreakerStore {
            backing: Arc::new(Backing::Shared(Arc::new(SharedFile::open(options)?))),
            clock: Arc::new(MonotonicClock),
        })
    }

    /// The same store read through another clock (tests drive time with a
    /// [`FakeClock`](super::FakeClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> BreakerStore {
        self.clock = clock;
        self
    }

    /// The file behind a shared store.
    pub fn path(&self) -> Option<&Path> {
        match &*self.backing {
            Backing::Shared(file) => Some(file.path()),
            Backing::InProcess(_) => None,
        }
    }

    /// Opens (creating if needed) the breaker `name`; a different stored config is an error.
    pub fn breaker(&self, name: &str, config: BreakerConfig) -> Result<Breaker> {
        self.breaker_with(name, config, OnConfigMismatch::Fail)
    }

    /// Opens the breaker `name`, choosing what happens when its stored config differs.
    pub fn breaker_with(
        &self,
        name: &str,
        config: BreakerConfig,
        on_mismatch: OnConfigMismatch,
    ) -> Result<Breaker> {
        validate_name(name)?;
        config.validate()?;
        let (slot, config) = match &*self.backing {
            Backing::InProcess(map) => {
                let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let boxed = map
                    .entry(name.to_owned())
                    .or_insert_with(|| {
                        let slot = Slot::zeroed();
                        slot.claim(name, &config);
                        slot
                    })
                    .clone();
                let config = settle_config(name, &boxed, config, on_mismatch)?;
                let ptr = NonNull::from(&*boxed);
                // SAFETY: the Arc keeps the slot alive and never moves it.
                (unsafe { SlotRef::new(ptr, boxed) }, config)
            }
            Backing::Shared(file) => {
                let ptr = file.find_or_claim(name, &config)?;
                // SAFETY: slots live inside the mapping, which the Arc keeps mapped.
                let slot = unsafe { SlotRef::new(ptr, file.clone()) };
                let config = settle_config(name, &slot, config, on_mismatch)?;
                (slot, config)
            }
        };
        Ok(Breaker::new(
            name.to_owned(),
            config,
            slot,
            self.clock.clone(),
        ))
    }

    /// A snapshot of every breaker in the store, by name.
    pub fn snapshots(&self) -> Result<Vec<BreakerSnapshot>> {
        let now = self.clock.now_ns();
        let mut out = Vec::new();
        let mut add = |slot: &Slot| -> Result<()> {
            let name = slot
                .name()
                .ok_or_else(|| Error::StoreCorrupt("a claimed slot has no valid name".into()))?;
            let config = slot.stored_config()?;
            out.push(snapshot_of(slot, name, &config, now));
            Ok(())
        };
        match &*self.backing {
            Backing::InProcess(map) => {
                let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                for slot in map.values() {
                    add(slot)?;
                }
            }
            Backing::Shared(file) => {
                for slot in file.claimed_slots() {
                    add(slot)?;
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

fn settle_config(
    name: &str,
    slot: &Slot,
    requested: BreakerConfig,
    on_mismatch: OnConfigMismatch,
) -> Result<BreakerConfig> {
    let stored = slot.config_hash.load(std::sync::atomic::Ordering::Acquire);
    if stored == requested.hash() {
        return Ok(requested);
    }
    match on_mismatch {
        OnConfigMismatch::AdoptStored => slot.stored_config(),
        OnConfigMismatch::Fail => Err(Error::ConfigMismatch {
            name: name.to_owned(),
            stored,
            requested: requested.hash(),
        }),
    }
}
