//! The fixed-size, all-atomic record of one breaker. The same layout lives on the heap (the
//! in-process store) or in a memory-mapped file (the shared store), so one state machine
//! serves both. All-zero bytes are a valid, closed, never-used breaker.
//!
//! Everything a period of the breaker writes is tagged with the control word's epoch, so a
//! transition "resets" windows and counters by moving to the next epoch: no process ever
//! has to clear memory another process may be writing.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::Arc;

use super::config::{
    BreakerConfig, SlidingWindow, CONFIG_WORDS, MAX_COUNT_WINDOW, MAX_HALF_OPEN_PERMITS,
    MAX_TIME_BUCKETS,
};
use super::state::EPOCH_MASK;

/// Longest breaker name in bytes.
pub const MAX_NAME_LEN: usize = 64;
const NAME_WORDS: usize = MAX_NAME_LEN / 8;

pub(crate) const SLOT_FREE: u32 = 0;
pub(crate) const SLOT_READY: u32 = 1;

/// Counts in a time bucket saturate at 2^24 - 1 per bucket.
const BUCKET_COUNT_MASK: u64 = (1 << 24) - 1;
const BUCKET_NO_MASK: u64 = (1 << 24) - 1;
const RING_SEQ_MASK: u64 = (1 << 40) - 1;

const LEASE_HELD: u64 = 1;
const LEASE_SUCCEEDED: u64 = 2;

pub(crate) const FLAG_RECORDED: u64 = 1;
pub(crate) const FLAG_FAILURE: u64 = 2;
pub(crate) const FLAG_SLOW: u64 = 4;

/// One breaker's shared state.
#[repr(C)]
pub(crate) struct Slot {
    pub status: AtomicU32,
    pub name_len: AtomicU32,
    pub name: [AtomicU64; NAME_WORDS],
    pub config_hash: AtomicU64,
    pub config: [AtomicU64; CONFIG_WORDS],
    /// See [`super::state::Control`].
    pub control: AtomicU64,
    /// `epoch:16 | count:48`: failures in a row in the current closed period.
    pub consecutive: AtomicU64,
    pub successes: AtomicU64,
    pub failures: AtomicU64,
    pub slow_calls: AtomicU64,
    pub rejected: AtomicU64,
    pub transitions: AtomicU64,
    pub last_transition: AtomicU64,
    /// `epoch:16 | expiry_ms:40 | status:8` per half-open probe.
    pub leases: [AtomicU64; MAX_HALF_OPEN_PERMITS as usize],
    pub ring_head: AtomicU64,
    /// `epoch:16 | seq:40 | flags:8` per recorded call of a count window.
    pub ring: [AtomicU64; MAX_COUNT_WINDOW as usize],
    /// Per time bucket: calls, failures, slow calls, each `epoch:16 | bucket_no:24 | count:24`.
    pub buckets: [[AtomicU64; 3]; MAX_TIME_BUCKETS as usize],
}

/// Calls, failures and slow calls in the current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WindowCounts {
    pub calls: u64,
    pub failures: u64,
    pub slow: u64,
}

impl WindowCounts {
    pub fn rates(&self) -> (f64, f64) {
        if self.calls == 0 {
            return (0.0, 0.0);
        }
        let n = self.calls as f64;
        (self.failures as f64 / n, self.slow as f64 / n)
    }
}

impl Slot {
    /// A zeroed slot on the heap.
    pub fn zeroed() -> Arc<Slot> {
        // SAFETY: Slot is made only of atomic integers, for which all-zero bytes are valid.
        unsafe { Arc::<Slot>::new_zeroed().assume_init() }
    }

    pub fn name(&self) -> Option<String> {
        let len = self.name_len.load(Acquire) as usize;
        if len == 0 || len > MAX_NAME_LEN {
            return None;
        }
        let mut bytes = [0u8; MAX_NAME_LEN];
        for (chunk, word) in bytes.chunks_mut(8).zip(&self.name) {
            chunk.copy_from_slice(&word.load(Relaxed).to_le_bytes());
        }
        String::from_utf8(bytes[..len].to_vec()).ok()
    }

    pub fn name_is(&self, name: &str) -> bool {
        self.name().as_deref() == Some(name)
    }

    /// Writes identity and config; the caller holds the store's claim lock.
    pub fn claim(&self, name: &str, config: &BreakerConfig) {
        let mut bytes = [0u8; MAX_NAME_LEN];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        for (chunk, word) in bytes.chunks(8).zip(&self.name) {
            word.store(
                u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")),
                Relaxed,
            );
        }
        for (word, value) in self.config.iter().zip(config.to_words()) {
            word.store(value, Relaxed);
        }
        self.config_hash.store(config.hash(), Relaxed);
        self.name_len.store(name.len() as u32, Release);
        self.status.store(SLOT_READY, Release);
    }

    pub fn stored_config(&self) -> crate::Result<BreakerConfig> {
        let words: [u64; CONFIG_WORDS] = std::array::from_fn(|i| self.config[i].load(Relaxed));
        BreakerConfig::from_words(&words)
    }

    // ---- consecutive failures -------------------------------------------------------

    /// Adds a failure to the run of `epoch`; returns the run length.
    pub fn add_consecutive_failure(&self, epoch: u64) -> u64 {
        let mut current = self.consecutive.load(Relaxed);
        loop {
            let (e, n) = (current >> 48, current & ((1 << 48) - 1));
            let next = if e == epoch { n + 1 } else { 1 };
            match self.consecutive.compare_exchange_weak(
                current,
                (epoch << 48) | next,
                AcqRel,
                Relaxed,
            ) {
                Ok(_) => return next,
                Err(seen) => current = seen,
            }
        }
    }

    pub fn clear_consecutive(&self, epoch: u64) {
        let current = self.consecutive.load(Relaxed);
        if current != epoch << 48 {
            // A lost race only means another recorder wrote a newer value; both are fine.
            let _ = self
                .consecutive
                .compare_exchange(current, epoch << 48, AcqRel, Relaxed);
        }
    }

    pub fn consecutive_in(&self, epoch: u64) -> u64 {
        let w = self.consecutive.load(Relaxed);
        if w >> 48 == epoch {
            w & ((1 << 48) - 1)
        } else {
            0
        }
    }

    // ---- sliding windows ------------------------------------------------------------

    pub fn push_window(&self, window: SlidingWindow, epoch: u64, now_ns: u64, flags: u64) {
        match window {
            SlidingWindow::Count { size } => {
                let seq = self.ring_head.fetch_add(1, AcqRel) & RING_SEQ_MASK;
                let entry = (epoch << 48) | (seq << 8) | flags;
                self.ring[(seq % u64::from(size)) as usize].store(entry, Release);
            }
            SlidingWindow::Time { seconds } => {
                let (buckets, width_ns) = SlidingWindow::time_buckets(seconds);
                let bucket_no = (now_ns / width_ns) & BUCKET_NO_MASK;
                let cells = &self.buckets[(bucket_no % u64::from(buckets)) as usize];
                bump_bucket(&cells[0], epoch, bucket_no);
                if flags & FLAG_FAILURE != 0 {
                    bump_bucket(&cells[1], epoch, bucket_no);
                }
                if flags & FLAG_SLOW != 0 {
                    bump_bucket(&cells[2], epoch, bucket_no);
                }
            }
        }
    }

    pub fn window_counts(&self, window: SlidingWindow, epoch: u64, now_ns: u64) -> WindowCounts {
        let mut counts = WindowCounts::default();
        match window {
            SlidingWindow::Count { size } => {
                let head = self.ring_head.load(Acquire) & RING_SEQ_MASK;
                let size = u64::from(size);
                for cell in &self.ring[..size as usize] {
                    let entry = cell.load(Acquire);
                    let seq = (entry >> 8) & RING_SEQ_MASK;
                    let age = head.wrapping_sub(seq) & RING_SEQ_MASK;
                    if entry & FLAG_RECORDED == 0 || entry >> 48 != epoch || age == 0 || age > size
                    {
                        continue;
                    }
                    counts.calls += 1;
                    counts.failures += u64::from(entry & FLAG_FAILURE != 0);
                    counts.slow += u64::from(entry & FLAG_SLOW != 0);
                }
            }
            SlidingWindow::Time { seconds } => {
                let (buckets, width_ns) = SlidingWindow::time_buckets(seconds);
                let now_bucket = (now_ns / width_ns) & BUCKET_NO_MASK;
                let live = |cell: &AtomicU64| {
                    let w = cell.load(Acquire);
                    let bucket_no = (w >> 24) & BUCKET_NO_MASK;
                    let age = now_bucket.wrapping_sub(bucket_no) & BUCKET_NO_MASK;
                    if w >> 48 == epoch && age < u64::from(buckets) {
                        w & BUCKET_COUNT_MASK
                    } else {
                        0
                    }
                };
                for cells in &self.buckets[..buckets as usize] {
                    counts.calls += live(&cells[0]);
                    counts.failures += live(&cells[1]);
                    counts.slow += live(&cells[2]);
                }
            }
        }
        counts
    }

    // ---- half-open probe leases ------------------------------------------------------

    /// Takes a free or expired probe lease of `epoch`; returns its index.
    /// `Err` carries the milliseconds until the earliest lease expires.
    pub fn acquire_lease(
        &self,
        permits: u32,
        epoch: u64,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<usize, u64> {
        let mut earliest_expiry = u64::MAX;
        for (i, lease) in self.leases[..permits as usize].iter().enumerate() {
            let w = lease.load(Acquire);
            let (e, expiry, status) = unpack_lease(w);
            let free = e != epoch || w == 0 || (status == LEASE_HELD && expiry <= now_ms);
            if !free {
                if status == LEASE_HELD {
                    earliest_expiry = earliest_expiry.min(expiry);
                }
                continue;
            }
            let taken = pack_lease(epoch, lease_word_expiry(now_ms, lease_ms), LEASE_HELD);
            if lease.compare_exchange(w, taken, AcqRel, Acquire).is_ok() {
                return Ok(i);
            }
        }
        if earliest_expiry == u64::MAX {
            // Every probe has reported; the closing transition is a moment away.
            return Err(1);
        }
        Err(earliest_expiry.saturating_sub(now_ms).max(1))
    }

    /// Marks the lease taken at `started_ms` as succeeded, if it is still the caller's.
    pub fn complete_lease(&self, index: usize, epoch: u64, started_ms: u64, lease_ms: u64) -> bool {
        let held = pack_lease(epoch, lease_word_expiry(started_ms, lease_ms), LEASE_HELD);
        let done = pack_lease(epoch, 0, LEASE_SUCCEEDED);
        self.leases[index]
            .compare_exchange(held, done, AcqRel, Acquire)
            .is_ok()
    }

    /// Whether the lease taken at `started_ms` is still held by that caller.
    pub fn owns_lease(&self, index: usize, epoch: u64, started_ms: u64, lease_ms: u64) -> bool {
        self.leases[index].load(Acquire)
            == pack_lease(epoch, lease_word_expiry(started_ms, lease_ms), LEASE_HELD)
    }

    /// Clears the probe leases and the failure run left by the period `epoch`, which has
    /// just ended. Epochs are 16 bits: without this, a lease marked succeeded (or a failure
    /// run) of a period 65536 epochs ago would pass for the current period's once the
    /// counter wraps round, and e.g. a half-open breaker whose only lease looks "succeeded"
    /// would refuse every caller forever. Only words still tagged `epoch` are cleared, so
    /// the new period's are never touched; a late writer of the old period may still leave
    /// a held lease behind, which expires.
    pub fn retire_epoch(&self, epoch: u64) {
        for lease in &self.leases {
            let mut w = lease.load(Acquire);
            while w != 0 && unpack_lease(w).0 == epoch {
                match lease.compare_exchange_weak(w, 0, AcqRel, Acquire) {
                    Ok(_) => break,
                    Err(seen) => w = seen,
                }
            }
        }
        let mut w = self.consecutive.load(Acquire);
        while w >> 48 == epoch && w & ((1 << 48) - 1) != 0 {
            match self
                .consecutive
                .compare_exchange_weak(w, 0, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(seen) => w = seen,
            }
        }
    }

    pub fn all_leases_succeeded(&self, permits: u32, epoch: u64) -> bool {
        self.leases[..permits as usize].iter().all(|l| {
            let (e, _, status) = unpack_lease(l.load(Acquire));
            e == epoch && status == LEASE_SUCCEEDED
        })
    }
}

fn lease_word_expiry(start_ms: u64, lease_ms: u64) -> u64 {
    (start_ms + lease_ms) & ((1 << 40) - 1)
}

fn pack_lease(epoch: u64, expiry_ms: u64, status: u64) -> u64 {
    ((epoch & EPOCH_MASK) << 48) | (expiry_ms << 8) | status
}

fn unpack_lease(w: u64) -> (u64, u64, u64) {
    (w >> 48, (w >> 8) & ((1 << 40) - 1), w & 0xFF)
}

fn bump_bucket(cell: &AtomicU64, epoch: u64, bucket_no: u64) {
    let tag = (epoch << 48) | (bucket_no << 24);
    let mut current = cell.load(Relaxed);
    loop {
        let next = if current & !BUCKET_COUNT_MASK == tag {
            let count = current & BUCKET_COUNT_MASK;
            if count == BUCKET_COUNT_MASK {
                return;
            }
            current + 1
        } else {
            tag | 1
        };
        match cell.compare_exchange_weak(current, next, AcqRel, Relaxed) {
            Ok(_) => return,
            Err(seen) => current = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let slot = Slot::zeroed();
        assert_eq!(slot.name(), None);
        let name = "payments-api.eu-west/ümlaut";
        slot.claim(name, &BreakerConfig::default());
        assert_eq!(slot.name().as_deref(), Some(name));
        assert!(slot.name_is(name));
        assert!(!slot.name_is("payments"));
        let long = "x".repeat(MAX_NAME_LEN);
        slot.claim(&long, &BreakerConfig::default());
        assert_eq!(slot.name().as_deref(), Some(long.as_str()));
    }

    #[test]
    fn count_window_keeps_the_last_n_of_the_epoch() {
        let slot = Slot::zeroed();
        let w = SlidingWindow::Count { size: 4 };
        for i in 0..6 {
            let flags = FLAG_RECORDED | if i % 2 == 0 { FLAG_FAILURE } else { 0 };
            slot.push_window(w, 3, 0, flags);
        }
        // last four: i = 2,3,4,5 -> failures at 2 and 4
        assert_eq!(
            slot.window_counts(w, 3, 0),
            WindowCounts {
                calls: 4,
                failures: 2,
                slow: 0
            }
        );
        assert_eq!(slot.window_counts(w, 4, 0), WindowCounts::default());
        slot.push_window(w, 4, 0, FLAG_RECORDED | FLAG_SLOW);
        assert_eq!(
            slot.window_counts(w, 4, 0),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 1
            }
        );
    }

    #[test]
    fn time_window_forgets_old_buckets() {
        let slot = Slot::zeroed();
        let w = SlidingWindow::Time { seconds: 10 };
        let s = 1_000_000_000u64;
        slot.push_window(w, 0, 100 * s, FLAG_RECORDED | FLAG_FAILURE);
        slot.push_window(w, 0, 105 * s, FLAG_RECORDED);
        assert_eq!(
            slot.window_counts(w, 0, 109 * s),
            WindowCounts {
                calls: 2,
                failures: 1,
                slow: 0
            }
        );
        assert_eq!(
            slot.window_counts(w, 0, 110 * s),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        assert_eq!(slot.window_counts(w, 0, 115 * s), WindowCounts::default());
        // The same bucket index one lap later starts from zero.
        slot.push_window(w, 0, 120 * s, FLAG_RECORDED);
        assert_eq!(
            slot.window_counts(w, 0, 120 * s),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    }

    #[test]
    fn leases_expire_and_belong_to_their_taker() {
        let slot = Slot::zeroed();
        assert_eq!(slot.acquire_lease(2, 5, 1000, 100), Ok(0));
        assert_eq!(slot.acquire_lease(2, 5, 1010, 100), Ok(1));
        assert_eq!(slot.acquire_lease(2, 5, 1050, 100), Err(50));
        // Lease 0 expires at 1100 and is taken over.
        assert_eq!(slot.acquire_lease(2, 5, 1100, 100), Ok(0));
        assert!(
            !slot.complete_lease(0, 5, 1000, 100),
            "the first taker lost its lease"
        );
        assert!(slot.complete_lease(0, 5, 1100, 100));
        assert!(!slot.all_leases_succeeded(2, 5));
        assert!(slot.complete_lease(1, 5, 1010, 100));
        assert!(slot.all_leases_succeeded(2, 5));
        // A new epoch finds every lease free.
        assert_eq!(slot.acquire_lease(2, 6, 1200, 100), Ok(0));
    }

    #[test]
    fn consecutive_failures_are_per_epoch() {
        let slot = Slot::zeroed();
        assert_eq!(slot.add_consecutive_failure(1), 1);
        assert_eq!(slot.add_consecutive_failure(1), 2);
        assert_eq!(slot.consecutive_in(1), 2);
        assert_eq!(slot.consecutive_in(2), 0);
        assert_eq!(slot.add_consecutive_failure(2), 1);
        slot.clear_consecutive(2);
        assert_eq!(slot.consecutive_in(2), 0);
    }
}
