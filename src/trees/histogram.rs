//! Gradient/hessian histograms: per feature, the sums over the rows of a node that fall in
//! each bin. Building one costs a pass over the node's rows; a sibling's comes for free as
//! parent minus child, so each split builds only the smaller child's.

use rayon::prelude::*;

use super::binning::BinnedData;

/// Rows x features below which a histogram is built on the calling thread.
const PARALLEL_MIN_WORK: usize = 64 * 1024;

/// Bins per feature in a histogram: 255 value bins plus the missing bin 0.
pub const BINS: usize = 256;

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

    /// The bins of feature `f`.
    pub fn feature(&self, f: usize) -> &[BinStats] {
        &self.bins[f * BINS..(f + 1) * BINS]
    }

    /// Sums `grad`/`hess` of `rows` into the bins of `features` (other features are left
    /// as they are). `grad`/`hess` are indexed by row. Features are summed in parallel, each
    /// in row order, so the result does not depend on the number of threads.
    pub fn build(
        &mut self,
        data: &BinnedData,
        rows: &[u32],
        grad: &[f64],
        hess: &[f64],
        features: &[usize],
    ) {
        // Gathering the node's gradients once keeps the per-feature loop on contiguous memory.
        let ordered: Vec<(f64, f64)> = rows
            .iter()
            .map(|&r| (grad[r as usize], hess[r as usize]))
            .collect();
        let mut chunks: Vec<(usize, &mut [BinStats])> =
            self.bins.chunks_mut(BINS).enumerate().collect();
        let wanted: Vec<bool> = {
            let mut w = vec![false; data.n_features()];
            for &f in features {
                w[f] = true;
            }
            w
        };
        chunks.retain(|(f, _)| wanted[*f]);
        let fill = |(f, bins): &mut (usize, &mut [BinStats])| {
            bins.fill(BinStats::default());
            let codes = data.feature(*f);
            for (&r, &(g, h)) in rows.iter().zip(&ordered) {
                let b = &mut bins[codes[r as usize] as usize];
                b.grad += g;
                b.hess += h;
                b.count += 1;
            }
        };
        // Threads pay off only once a node has enough work to amortise the hand-off.
        if rows.len() * chunks.len() >= PARALLEL_MIN_WORK {
            chunks.par_iter_mut().for_each(fill);
        } else {
            chunks.iter_mut().for_each(fill);
        }
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
