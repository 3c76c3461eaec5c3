//! Gradient/hessian histograms: per feature, the sums over the rows of a node that fall in
//! each bin. Building one costs a pass over the node's rows; a sibling's comes for free as
//! parent minus child, so each split builds only the smaller child's.

use rayon::prelude::*;

use super::binning::BinnedData;

/// Rows x features below which a histogram is built on the calling thread: below this the
/// hand-off to another thread costs more than half the work.
const PARALLEL_MIN_WORK: usize = 32 * 1024;

/// Features summed in one pass over a node's rows.
pub(crate) const FEATURES_PER_PASS: usize = 4;

/// Bins per feature in a histogram: 255 value bins plus the missing bin 0.
pub const BINS: usize = 256;

/// Histogram buffers kept per thread after their tree is done: boosting grows hundreds of
/// trees of the same shape, and a fresh 180 KB buffer per node costs page faults and zeroing.
const POOL_MAX: usize = 64;

thread_local! {
    static POOL: std::cell::RefCell<Vec<Vec<BinStats>>> = const { std::cell::RefCell::new(Vec::new()) };
    static ORDERED: std::cell::RefCell<Vec<[f64; 2]>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sums of one bin. Accumulated in f64 so millions of small gradients do not lose precision.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BinStats {
    /// Sum of gradients.
    pub grad: f64,
    /// Sum of hessians.
    pub hess: f64,
    /// Number of rows.
    pub count: u32,
}

impl BinStats {
    #[inline]
    pub(crate) fn add(&mut self, other: &BinStats) {
        self.grad += other.grad;
        self.hess += other.hess;
        self.count += other.count;
    }

    #[inline]
    pub(crate) fn add_row(&mut self, g: f64, h: f64) {
        self.grad += g;
        self.hess += h;
        self.count += 1;
    }

    #[inline]
    pub(crate) fn sub(&self, other: &BinStats) -> BinStats {
        BinStats {
            grad: self.grad - other.grad,
            hess: self.hess - other.hess,
            count: self.count - other.count,
        }
    }
}

/// One node's histograms, `BINS` entries per feature.
#[derive(Debug, Clone)]
pub struct Histogram {
    bins: Vec<BinStats>,
}

impl Histogram {
    /// Zeroed histograms for `n_features` features.
    pub fn new(n_features: usize) -> Histogram {
        Histogram {
            bins: vec![BinStats::default(); n_features * BINS],
        }
    }

    /// Histograms for `n_features` features with unspecified contents (every feature that
    /// is read must first be [`build`](Self::build)-t), reusing a buffer this thread freed
    /// with [`recycle`](Self::recycle).
    pub fn pooled(n_features: usize) -> Histogram {
        let mut bins = POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        bins.resize(n_features * BINS, BinStats::default());
        Histogram { bins }
    }

    /// Gives the buffer back to this thread's pool for [`pooled`](Self::pooled).
    pub fn recycle(self) {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_MAX {
                p.push(self.bins);
            }
        });
    }

    /// The bins of feature `f`.
    pub fn feature(&self, f: usize) -> &[BinStats] {
        &self.bins[f * BINS..(f + 1) * BINS]
    }

    /// Sets the bins of `features` to the sums of `grad`/`hess` over `rows` (other features
    /// are left as they are). `grad`/`hess` are indexed by row. Each bin is summed in row
    /// order, so the result does not depend on the number of threads.
    pub fn build(
        &mut self,
        data: &BinnedData,
        rows: &[u32],
        grad: &[f64],
        hess: &[f64],
        features: &[usize],
    ) {
        let unit_hess = rows.iter().all(|&r| hess[r as usize] == 1.0);
        let mut features = features.to_vec();
        features.sort_unstable();
        features.dedup();
        self.build_known(data, rows, grad, hess, &features, unit_hess);
    }

    /// [`build`](Self::build) when the caller already knows whether every hessian of `rows`
    /// is exactly 1 (a tree grower checks once per tree rather than once per node);
    /// `features` ascending.
    pub(crate) fn build_known(
        &mut self,
        data: &BinnedData,
        rows: &[u32],
        grad: &[f64],
        hess: &[f64],
        features: &[usize],
        unit_hess: bool,
    ) {
        let mut ordered = take_ordered();
        gather(&mut ordered, rows, grad, hess, unit_hess);
        let mut slots = self.slots_mut(features);
        // A few features per pass over the rows: their bins (4 KB each) stay in L1 together,
        // and each row's index and gradients are loaded once for all of them; all features'
        // bins at once (180 KB) would not fit.
        let fill = |group: &mut [(usize, &mut [BinStats; BINS])]| {
            fill_slots(group, data, rows, &ordered, unit_hess)
        };
        if rows.len() * slots.len() >= PARALLEL_MIN_WORK {
            slots.par_chunks_mut(FEATURES_PER_PASS).for_each(fill);
        } else {
            slots.chunks_mut(FEATURES_PER_PASS).for_each(fill);
        }
        give_back_ordered(ordered);
    }

    /// The bins of each of `features` (ascending, distinct), mutable side by side so that
    /// disjoint groups of features can be filled on different threads.
    pub(crate) fn slots_mut(&mut self, features: &[usize]) -> Vec<(usize, &mut [BinStats; BINS])> {
        debug_assert!(features.windows(2).all(|w| w[0] < w[1]));
        let mut wanted = features.iter().copied().peekable();
        self.bins
            .chunks_exact_mut(BINS)
            .enumerate()
            .filter(|(f, _)| wanted.next_if_eq(f).is_some())
            .map(|(f, b)| (f, b.try_into().expect("BINS-sized chunk")))
            .collect()
    }

    /// Takes `rows` back out of the bins of `features`: turns a parent's histograms into
    /// those of the child left when `rows` (the other child) are gone, at a cost in rows
    /// rather than bins.
    pub fn remove_rows(
        &mut self,
        data: &BinnedData,
        rows: &[u32],
        grad: &[f64],
        hess: &[f64],
        features: &[usize],
    ) {
        let mut features = features.to_vec();
        features.sort_unstable();
        features.dedup();
        let mut ordered = take_ordered();
        gather(&mut ordered, rows, grad, hess, false);
        for (f, bins) in self.slots_mut(&features) {
            remove_from(bins, data.feature(f), rows, &ordered);
        }
        give_back_ordered(ordered);
    }

    /// `self -= child` for `features`: turns a parent's histograms into the sibling's.
    pub fn subtract_in_place(&mut self, child: &Histogram, features: &[usize]) {
        for &f in features {
            let range = f * BINS..(f + 1) * BINS;
            for (out, c) in self.bins[range.clone()].iter_mut().zip(&child.bins[range]) {
                *out = out.sub(c);
            }
        }
    }

    /// `self = parent - child` for `features`: the sibling's histograms.
    pub fn subtract(&mut self, parent: &Histogram, child: &Histogram, features: &[usize]) {
        for &f in features {
            let range = f * BINS..(f + 1) * BINS;
            for ((out, p), c) in self.bins[range.clone()]
                .iter_mut()
                .zip(&parent.bins[range.clone()])
                .zip(&child.bins[range])
            {
                *out = p.sub(c);
            }
        }
    }
}

/// The gather buffer, taken out of the thread-local rather than borrowed: while this thread
/// waits on a parallel part, rayon may run another tree's build on it.
pub(crate) fn take_ordered() -> Vec<[f64; 2]> {
    ORDERED.with(|o| std::mem::take(&mut *o.borrow_mut()))
}

/// Returns a buffer from [`take_ordered`] for the next node.
pub(crate) fn give_back_ordered(ordered: Vec<[f64; 2]>) {
    ORDERED.with(|o| *o.borrow_mut() = ordered);
}

/// The gradients of `rows` gathered once, so each feature's pass reads them in order.
/// Unit hessians (squared error, unweighted) are not even read, and a bin's hessian sum is
/// then its row count, exactly (integers in f64).
pub(crate) fn gather(
    ordered: &mut Vec<[f64; 2]>,
    rows: &[u32],
    grad: &[f64],
    hess: &[f64],
    unit_hess: bool,
) {
    let fill = |(out, rows): (&mut [[f64; 2]], &[u32])| {
        if unit_hess {
            for (o, &r) in out.iter_mut().zip(rows) {
                *o = [grad[r as usize], 1.0];
            }
        } else {
            for (o, &r) in out.iter_mut().zip(rows) {
                *o = [grad[r as usize], hess[r as usize]];
            }
        }
    };
    ordered.clear();
    ordered.resize(rows.len(), [0.0; 2]);
    // Random reads: a large node's gather is worth sharing with the other worker.
    const PIECE: usize = 8 * 1024;
    if rows.len() >= 2 * PIECE {
        ordered
            .par_chunks_mut(PIECE)
            .zip(rows.par_chunks(PIECE))
            .for_each(fill);
    } else {
        fill((ordered, rows));
    }
}

/// Sets the bins of a group of up to [`FEATURES_PER_PASS`] features to the sums of
/// `ordered` (the gradients of `rows`, in order), in one pass over the rows.
pub(crate) fn fill_slots(
    group: &mut [(usize, &mut [BinStats; BINS])],
    data: &BinnedData,
    rows: &[u32],
    ordered: &[[f64; 2]],
    unit_hess: bool,
) {
    match group {
        [a] => fill_group([a], data, rows, ordered, unit_hess),
        [a, b] => fill_group([a, b], data, rows, ordered, unit_hess),
        [a, b, c] => fill_group([a, b, c], data, rows, ordered, unit_hess),
        [a, b, c, d] => fill_group([a, b, c, d], data, rows, ordered, unit_hess),
        _ => unreachable!("groups hold 1..={FEATURES_PER_PASS} features"),
    }
}

/// Takes `rows` (with gradients `ordered`) out of one feature's bins, one row at a time in
/// row order.
pub(crate) fn remove_from(
    bins: &mut [BinStats; BINS],
    codes: &[u8],
    rows: &[u32],
    ordered: &[[f64; 2]],
) {
    for (&r, &[g, h]) in rows.iter().zip(ordered) {
        let b = &mut bins[codes[r as usize] as usize];
        b.grad -= g;
        b.hess -= h;
        b.count -= 1;
    }
}

/// Sums `ordered` (the gradients of `rows`, in order) into the bins of `K` features.
fn fill_group<const K: usize>(
    slots: [&mut (usize, &mut [BinStats; BINS]); K],
    data: &BinnedData,
    rows: &[u32],
    ordered: &[[f64; 2]],
    unit_hess: bool,
) {
    let codes: [&[u8]; K] = std::array::from_fn(|k| data.feature(slots[k].0));
    let mut sums = [[[0.0f64; 2]; BINS]; K];
    let mut counts = [[0u32; BINS]; K];
    if unit_hess {
        for (&r, &[g, h]) in rows.iter().zip(ordered) {
            for k in 0..K {
                let s = &mut sums[k][codes[k][r as usize] as usize];
                s[0] += g;
                s[1] += h;
            }
        }
        for k in 0..K {
            for (c, s) in counts[k].iter_mut().zip(&sums[k]) {
                *c = s[1] as u32;
            }
        }
    } else {
        for (&r, &[g, h]) in rows.iter().zip(ordered) {
            for k in 0..K {
                let b = codes[k][r as usize] as usize;
                sums[k][b][0] += g;
                sums[k][b][1] += h;
                counts[k][b] += 1;
            }
        }
    }
    for (k, (_, bins)) in slots.into_iter().enumerate() {
        for ((out, [g, h]), &count) in bins.iter_mut().zip(sums[k]).zip(&counts[k]) {
            *out = BinStats {
                grad: g,
                hess: h,
                count,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn build_and_subtract() {
        let x = array![[1.0, 10.0], [2.0, f64::NAN], [2.0, 30.0], [3.0, 10.0]];
        let data = BinnedData::fit(x.view(), 255, 0).unwrap();
        let grad = [1.0, 2.0, 3.0, 4.0];
        let hess = [1.0; 4];
        let mut all = Histogram::new(2);
        all.build(&data, &[0, 1, 2, 3], &grad, &hess, &[0, 1]);
        let f0 = all.feature(0);
        // Feature 0 bins: 1 -> code 1, 2 -> code 2, 3 -> code 3.
        assert_eq!((f0[1].grad, f0[2].grad, f0[3].grad), (1.0, 5.0, 4.0));
        assert_eq!(f0[2].count, 2);
        // Feature 1: NaN goes to the missing bin 0.
        assert_eq!(
            all.feature(1)[0],
            BinStats {
                grad: 2.0,
                hess: 1.0,
                count: 1
            }
        );

        let mut left = Histogram::new(2);
        left.build(&data, &[0, 1], &grad, &hess, &[0, 1]);
        let mut right = Histogram::new(2);
        right.subtract(&all, &left, &[0, 1]);
        let mut direct = Histogram::new(2);
        direct.build(&data, &[2, 3], &grad, &hess, &[0, 1]);
        assert_eq!(right.bins, direct.bins);
    }
}
