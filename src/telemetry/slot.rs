//! One metric series: its identity (family plus two label values) and its values, all
//! atomics, so the same slot works on the heap and inside a file every process maps.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::*;

/// Longest label value (model name, outcome, feature name) in bytes.
pub const MAX_LABEL_LEN: usize = 64;
const LABEL_WORDS: usize = MAX_LABEL_LEN / 8;

pub(crate) const SLOT_FREE: u64 = 0;
pub(crate) const SLOT_READY: u64 = 1;

/// Upper bounds (seconds) of the latency histogram's finite buckets; `+Inf` follows.
pub const LATENCY_BUCKETS: [f64; 14] = [
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1.0,
];
/// The same bounds in nanoseconds: the hot path compares integers.
const BUCKET_NS: [u64; 14] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];
pub(crate) const N_BUCKETS: usize = BUCKET_NS.len() + 1;

/// What a slot measures. The numbers are stored in shared files: never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Family {
    /// Counter + latency histogram per (model, outcome).
    Prediction = 1,
    /// Gauge per (model, feature).
    DriftScore = 2,
    /// Gauge per model (second label empty).
    DriftDetected = 3,
    /// Gauge per model (second label empty).
    ModelVersion = 4,
}

impl Family {
    fn from_word(w: u64) -> Option<Family> {
        Some(match w {
            1 => Family::Prediction,
            2 => Family::DriftScore,
            3 => Family::DriftDetected,
            4 => Family::ModelVersion,
            _ => return None,
        })
    }
}

/// The identity of a series: family and label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    pub family: Family,
    pub model: &'a str,
    pub label: &'a str,
}

impl Key<'_> {
    /// A word-at-a-time hash (the probe start in the table; part of the file layout).
    pub fn hash(&self) -> u64 {
        let mut h = 0x9E37_79B9_7F4A_7C15u64 ^ self.family as u64;
        for part in [self.model.as_bytes(), self.label.as_bytes()] {
            let mut chunks = part.chunks_exact(8);
            for c in &mut chunks {
                h = mix(h ^ u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
            }
            let mut tail = [0u8; 8];
            tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
            h = mix(h ^ u64::from_le_bytes(tail) ^ ((part.len() as u64) << 56));
        }
        h
    }
}

fn mix(h: u64) -> u64 {
    let h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^ (h >> 29)
}

/// One series' shared state.
#[repr(C)]
#[derive(Default)]
pub(crate) struct MetricSlot {
    pub status: AtomicU64,
    family: AtomicU64,
    key_hash: AtomicU64,
    /// `model_len | label_len << 32`.
    lens: AtomicU64,
    model: [AtomicU64; LABEL_WORDS],
    label: [AtomicU64; LABEL_WORDS],
    sum_ns: AtomicU64,
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`. Their sum is the count:
    /// one atomic add fewer per observation than a separate counter.
    buckets: [AtomicU64; N_BUCKETS],
    /// f64 bits.
    gauge: AtomicU64,
}

/// A consistent-enough copy of one slot for rendering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlotValues {
    pub family: Family,
    pub model: String,
    pub label: String,
    pub count: u64,
    pub sum_ns: u64,
    pub buckets: [u64; N_BUCKETS],
    pub gauge: f64,
}

fn store_text(words: &[AtomicU64; LABEL_WORDS], text: &str) {
    let mut bytes = [0u8; MAX_LABEL_LEN];
    bytes[..text.len()].copy_from_slice(text.as_bytes());
    for (chunk, word) in bytes.chunks(8).zip(words) {
        word.store(
            u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")),
            Relaxed,
        );
    }
}

fn text_is(words: &[AtomicU64; LABEL_WORDS], text: &str) -> bool {
    let mut chunks = text.as_bytes().chunks(8);
    words.iter().all(|w| {
        let mut want = [0u8; 8];
        if let Some(c) = chunks.next() {
            want[..c.len()].copy_from_slice(c);
        }
        w.load(Relaxed) == u64::from_le_bytes(want)
    })
}

fn load_text(words: &[AtomicU64; LABEL_WORDS], len: usize) -> Option<String> {
    if len > MAX_LABEL_LEN {
        return None;
    }
    let mut bytes = [0u8; MAX_LABEL_LEN];
    for (chunk, word) in bytes.chunks_mut(8).zip(words) {
        chunk.copy_from_slice(&word.load(Relaxed).to_le_bytes());
    }
    String::from_utf8(bytes[..len].to_vec()).ok()
}

impl MetricSlot {
    /// Whether this ready slot holds `key` (whose hash is `hash`).
    #[inline]
    pub fn holds(&self, key: &Key<'_>, hash: u64) -> bool {
        self.key_hash.load(Relaxed) == hash
            && self.family.load(Relaxed) == key.family as u64
            && self.lens.load(Relaxed) == (key.model.len() as u64 | (key.label.len() as u64) << 32)
            && text_is(&self.model, key.model)
            && text_is(&self.label, key.label)
    }

    /// Writes the identity and publishes the slot; the caller holds the table's claim lock
    /// and has checked both labels' lengths.
    pub fn claim(&self, key: &Key<'_>, hash: u64) {
        store_text(&self.model, key.model);
        store_text(&self.label, key.label);
        self.family.store(key.family as u64, Relaxed);
        self.key_hash.store(hash, Relaxed);
        self.lens.store(
            key.model.len() as u64 | (key.label.len() as u64) << 32,
            Relaxed,
        );
        self.status.store(SLOT_READY, Release);
    }

    #[inline]
    pub fn observe(&self, latency_ns: u64) {
        let bucket = BUCKET_NS.partition_point(|&b| b < latency_ns);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(latency_ns, Relaxed);
    }

    pub fn set_gauge(&self, value: f64) {
        self.gauge.store(value.to_bits(), Relaxed);
    }

    /// The slot's identity and values; `None` if the identity does not decode (a damaged
    /// file).
    pub fn values(&self) -> Option<SlotValues> {
        let family = Family::from_word(self.family.load(Relaxed))?;
        let lens = self.lens.load(Relaxed);
        let model = load_text(&self.model, (lens & 0xFFFF_FFFF) as usize)?;
        let label = load_text(&self.label, (lens >> 32) as usize)?;
        let mut buckets = [0u64; N_BUCKETS];
        for (b, a) in buckets.iter_mut().zip(&self.buckets) {
            *b = a.load(Relaxed);
        }
        Some(SlotValues {
            family,
            model,
            label,
            count: buckets.iter().fold(0u64, |a, b| a.saturating_add(*b)),
            sum_ns: self.sum_ns.load(Relaxed),
            buckets,
            gauge: f64::from_bits(self.gauge.load(Relaxed)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket() {
        let slot = MetricSlot::default();
        let key = Key {
            family: Family::Prediction,
            model: "fraud-eu",
            label: "model",
        };
        slot.claim(&key, key.hash());
        assert!(slot.holds(&key, key.hash()));
        let other = Key {
            label: "fallback",
            ..key
        };
        assert!(!slot.holds(&other, other.hash()));
        for ns in [0, 1_000, 1_001, 2_000_000_000] {
            slot.observe(ns);
        }
        let v = slot.values().unwrap();
        assert_eq!((v.model.as_str(), v.label.as_str()), ("fraud-eu", "model"));
        assert_eq!(v.count, 4);
        assert_eq!(v.sum_ns, 2_000_002_001);
        assert_eq!(v.buckets[0], 2, "0 and exactly 1 us are <= 1 us");
        assert_eq!(v.buckets[1], 1);
        assert_eq!(v.buckets[N_BUCKETS - 1], 1, "2 s is over the last bound");
    }

    #[test]
    fn labels_of_every_length_round_trip() {
        for len in [0, 1, 7, 8, 9, 63, 64] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let slot = MetricSlot::default();
            let key = Key {
                family: Family::DriftScore,
                model: &text,
                label: &text,
            };
            slot.claim(&key, key.hash());
            assert!(slot.holds(&key, key.hash()), "len {len}");
            assert_eq!(slot.values().unwrap().model, text);
        }
    }

    #[test]
    fn bucket_bounds_agree() {
        for (s, ns) in LATENCY_BUCKETS.iter().zip(BUCKET_NS) {
            assert_eq!((s * 1e9).round() as u64, ns);
        }
    }
}
