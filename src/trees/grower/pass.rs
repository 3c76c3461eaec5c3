//! Everything one split asks of the features, done in a single parallel pass over groups of
//! features: the smaller child's histograms (built, or taken out of the parent row by row),
//! the larger child's (parent minus smaller), and both children's best splits. One hand-off
//! to the other thread per split, instead of one per build and one per search, and the
//! searches are spread over features rather than over the two children (whose costs differ).
//!
//! Each group's best split is the first best of its features in order; merging the groups in
//! order keeps the first best overall, as one scan over all features would, whichever thread
//! ran which group.

use rayon::prelude::*;

use super::super::binning::BinnedData;
use super::super::histogram::{
    fill_slots, gather, give_back_ordered, remove_from, take_ordered, BinStats, Histogram, BINS,
    FEATURES_PER_PASS,
};
use super::super::monotone::{Bounds, Limits};
use super::super::split::{NodeStats, Split, SplitRules};

/// Work (rows or bins, times features) below which a pass runs on the calling thread. Low:
/// the other worker is usually spinning, ready to steal, and every serial part leaves it
/// idle (measured: 1k to 2k is best on 50,000 x 30; 24k cost 20% of fit time).
const PARALLEL_MIN_WORK: usize = 1536;

/// How the smaller child gets its histograms.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// Neither child keeps histograms.
    None,
    /// Built from its rows; the larger child's (if a parent is given) are parent minus them.
    Build,
    /// None of its own: its rows are taken out of the parent's, which become the larger
    /// child's.
    Remove,
}

/// One child's search: its rows and totals, the features it may split on (ascending) or
/// `None` when it may not split, and its output bounds (monotone constraints).
pub(super) struct Side<'a> {
    pub rows: &'a [u32],
    pub stats: NodeStats,
    pub draw: Option<Vec<usize>>,
    pub bounds: Bounds,
}

/// The inputs every group shares.
pub(super) struct Pass<'a> {
    pub data: &'a BinnedData,
    pub grad: &'a [f64],
    pub hess: &'a [f64],
    pub rules: &'a SplitRules,
    /// The tree's features, ascending: those histograms hold.
    pub features: &'a [usize],
    pub unit_hess: bool,
    /// Monotone direction per feature, or empty.
    pub monotone: &'a [i8],
}

impl<'a> Pass<'a> {
    /// Fills `small` (under [`Plan::Build`]) and turns `parent` into the larger child's
    /// histograms, then searches both sides: the smaller on `small` (or its rows), the
    /// larger on `parent` (or its rows). Returns (smaller's split, larger's split).
    pub(super) fn run(
        &self,
        plan: Plan,
        small: &Side,
        small_hist: Option<&mut Histogram>,
        large: Option<&Side>,
        parent: Option<&mut Histogram>,
    ) -> (Option<Split>, Option<Split>) {
        if plan == Plan::None && small_hist.is_none() && parent.is_none() {
            let wanted = |side: &Side| side.draw.as_ref().map_or(0, |_| side.rows.len());
            let rows_work = wanted(small) + large.map_or(0, wanted);
            // Deep trees' small nodes: one search per side over all its features, without
            // the groups' buffers (which cost more than the search here).
            if rows_work * self.features.len() < PARALLEL_MIN_WORK {
                let search = |side: &Side| {
                    side.draw.as_ref().and_then(|d| {
                        self.rules.best_split_rows(
                            self.data,
                            side.rows,
                            self.grad,
                            self.hess,
                            &side.stats,
                            d,
                            &self.limits(side),
                        )
                    })
                };
                return (search(small), large.and_then(search));
            }
        }
        let mut ordered = take_ordered();
        if plan != Plan::None {
            gather(
                &mut ordered,
                small.rows,
                self.grad,
                self.hess,
                self.unit_hess,
            );
        }
        let mut small_slots = small_hist.map_or_else(Vec::new, |h| h.slots_mut(self.features));
        let mut large_slots = parent.map_or_else(Vec::new, |h| h.slots_mut(self.features));
        // Groups of features with their slots in each buffer (empty where there is none).
        let mut groups: Vec<Group> = Vec::new();
        let mut small_iter = small_slots.chunks_mut(FEATURES_PER_PASS);
        let mut large_iter = large_slots.chunks_mut(FEATURES_PER_PASS);
        for features in self.features.chunks(FEATURES_PER_PASS) {
            groups.push(Group {
                features,
                small: small_iter.next().unwrap_or_default(),
                large: large_iter.next().unwrap_or_default(),
            });
        }
        let nf = self.features.len();
        let searched = |side: &Side, has_hist: bool| match side.draw {
            None => 0,
            Some(_) if has_hist => BINS,
            Some(_) => side.rows.len(),
        };
        let large_has = !groups.is_empty() && !groups[0].large.is_empty();
        let small_has = !groups.is_empty() && !groups[0].small.is_empty();
        let work = nf
            * (if plan == Plan::None {
                0
            } else {
                small.rows.len()
            } + searched(small, small_has)
                + large.map_or(0, |l| searched(l, large_has)));
        let job = |g: &mut Group| self.group(g, plan, &ordered, small, large);
        let found: Vec<(Option<Split>, Option<Split>)> = if work >= PARALLEL_MIN_WORK {
            groups.par_iter_mut().map(job).collect()
        } else {
            groups.iter_mut().map(job).collect()
        };
        give_back_ordered(ordered);
        found.into_iter().fold((None, None), |(bs, bl), (s, l)| {
            (first_best(bs, s), first_best(bl, l))
        })
    }

    fn group(
        &self,
        g: &mut Group,
        plan: Plan,
        ordered: &[[f64; 2]],
        small: &Side,
        large: Option<&Side>,
    ) -> (Option<Split>, Option<Split>) {
        match plan {
            Plan::None => {}
            Plan::Build => {
                fill_slots(g.small, self.data, small.rows, ordered, self.unit_hess);
                for ((_, p), (_, c)) in g.large.iter_mut().zip(g.small.iter()) {
                    for (out, c) in p.iter_mut().zip(c.iter()) {
                        *out = out.sub(c);
                    }
                }
            }
            Plan::Remove => {
                for (f, bins) in g.large.iter_mut() {
                    remove_from(bins, self.data.feature(*f), small.rows, ordered);
                }
            }
        }
        let small_split = self.search(small, g.features, &*g.small);
        let large_split = large.and_then(|l| self.search(l, g.features, &*g.large));
        (small_split, large_split)
    }

    /// The best split of `side` over the features of one group that it drew, from the
    /// group's histograms when there are some, else from its rows.
    fn search(
        &self,
        side: &Side,
        group: &[usize],
        slots: &[(usize, &mut [BinStats; BINS])],
    ) -> Option<Split> {
        let draw = side.draw.as_ref()?;
        let drawn = |f: &usize| draw.binary_search(f).is_ok();
        let n_bins = |f: usize| self.data.mappers()[f].n_bins();
        if slots.is_empty() {
            let feats: Vec<usize> = group.iter().copied().filter(drawn).collect();
            if feats.is_empty() {
                return None;
            }
            self.rules.best_split_rows(
                self.data,
                side.rows,
                self.grad,
                self.hess,
                &side.stats,
                &feats,
                &self.limits(side),
            )
        } else {
            let feats = slots
                .iter()
                .filter(|(f, _)| drawn(f))
                .map(|(f, b)| (*f, &b[..]));
            self.rules
                .best_split_in(feats, &side.stats, n_bins, &self.limits(side))
        }
    }

    fn limits(&self, side: &Side) -> Limits<'a> {
        Limits {
            bounds: side.bounds,
            monotone: self.monotone,
        }
    }
}

struct Group<'g, 'h> {
    features: &'g [usize],
    small: &'g mut [(usize, &'h mut [BinStats; BINS])],
    large: &'g mut [(usize, &'h mut [BinStats; BINS])],
}

/// `a` unless `b` gains strictly more: groups merged in feature order keep the first best.
fn first_best(a: Option<Split>, b: Option<Split>) -> Option<Split> {
    match (a, b) {
        (Some(x), Some(y)) if y.gain > x.gain => Some(y),
        (Some(x), _) => Some(x),
        (None, y) => y,
    }
}
