//! Drift of a categorical column: counts over the union of both sides' labels, new and
//! vanished categories, the chosen test's score and the bars to plot.

use std::collections::HashMap;

use super::options::DriftOptions;
use super::score::{counts_score, finish};
use super::{choose, placeholder};
use crate::drift::data::{Categories, ColumnKind, MISSING};
use crate::drift::error::{DriftError, Side};
use crate::drift::report::{ColumnDrift, ColumnSummary, Distribution};

/// Categories kept for the report's bar charts; the rest are summed as "other".
pub const PLOT_CATEGORIES: usize = 20;

pub(super) fn categorical_drift(
    name: &str,
    r: &Categories,
    c: &Categories,
    o: &DriftOptions,
) -> ColumnDrift {
    // Union dictionary: reference labels first, then labels new in the current data.
    let mut labels: Vec<&str> = r.labels().iter().map(String::as_str).collect();
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let mut cur_map = Vec::with_capacity(c.labels().len());
    for l in c.labels() {
        match index.get(l.as_str()) {
            Some(&i) => cur_map.push(i),
            None => {
                labels.push(l);
                cur_map.push(labels.len() - 1);
            }
        }
    }
    let mut rc = vec![0u64; labels.len()];
    let mut cc = vec![0u64; labels.len()];
    for (k, n) in r.counts().into_iter().enumerate() {
        rc[k] += n;
    }
    for (k, n) in c.counts().into_iter().enumerate() {
        cc[cur_map[k]] += n;
    }
    let rmiss = r.codes().iter().filter(|&&k| k == MISSING).count();
    let cmiss = c.codes().iter().filter(|&&k| k == MISSING).count();
    // Sort the union: the Z-test's first key is the smallest value, as in Evidently, which
    // compares integer classes as numbers ("2" < "10") and strings by code point.
    let mut order: Vec<usize> = (0..labels.len()).filter(|&i| rc[i] + cc[i] > 0).collect();
    let numbers: Option<Vec<f64>> = labels
        .iter()
        .map(|l| crate::drift::data::parse_number(l))
        .collect();
    match numbers {
        Some(v) => order.sort_by(|&a, &b| v[a].total_cmp(&v[b])),
        None => order.sort_by(|&a, &b| labels[a].cmp(labels[b])),
    }
    let keys: Vec<&str> = order.iter().map(|&i| labels[i]).collect();
    let rcs: Vec<u64> = order.iter().map(|&i| rc[i]).collect();
    let ccs: Vec<u64> = order.iter().map(|&i| cc[i]).collect();
    let (nr, nc) = (rcs.iter().sum::<u64>(), ccs.iter().sum::<u64>());
    let summary = |rows: usize, missing: usize, used: u64, counts: &[u64]| ColumnSummary {
        rows,
        missing,
        infinite: 0,
        used: used as usize,
        distinct: counts.iter().filter(|&&n| n > 0).count(),
        mean: None,
        std: None,
        min: None,
        max: None,
    };
    let mut d = placeholder();
    d.column = name.into();
    d.kind = ColumnKind::Categorical;
    d.reference = summary(r.codes().len(), rmiss, nr, &rcs);
    d.current = summary(c.codes().len(), cmiss, nc, &ccs);
    let (test, default, thr) = choose(name, ColumnKind::Categorical, nr as usize, keys.len(), o);
    d.test = test;
    d.default_test = default;
    d.threshold = thr;
    d.new_categories = keys
        .iter()
        .zip(rcs.iter().zip(&ccs))
        .filter(|(_, (r, c))| **r == 0 && **c > 0)
        .map(|(k, _)| k.to_string())
        .collect();
    d.missing_categories = keys
        .iter()
        .zip(rcs.iter().zip(&ccs))
        .filter(|(_, (r, c))| **r > 0 && **c == 0)
        .map(|(k, _)| k.to_string())
        .collect();
    let mut by_freq: Vec<usize> = (0..keys.len()).collect();
    by_freq.sort_by(|&a, &b| {
        (rcs[b] + ccs[b])
            .cmp(&(rcs[a] + ccs[a]))
            .then(keys[a].cmp(keys[b]))
    });
    let shown: Vec<usize> = by_freq.iter().copied().take(PLOT_CATEGORIES).collect();
    let rest: Vec<usize> = by_freq.iter().copied().skip(PLOT_CATEGORIES).collect();
    d.distribution = Some(Distribution::Categories {
        labels: shown.iter().map(|&i| keys[i].to_string()).collect(),
        reference: shown.iter().map(|&i| rcs[i]).collect(),
        current: shown.iter().map(|&i| ccs[i]).collect(),
        reference_other: rest.iter().map(|&i| rcs[i]).sum(),
        current_other: rest.iter().map(|&i| ccs[i]).sum(),
    });
    // Evidently's type inference calls a string column "text" when more than half of its values
    // are distinct, and runs a text-drift model on it instead of a frequency test.
    if nr > 0 && d.reference.distinct as f64 > 0.5 * nr as f64 && d.reference.distinct > 2 {
        d.notes.push(format!(
            "{} of {} reference values are distinct: free text or an identifier? Evidently would treat it as text",
            d.reference.distinct, nr
        ));
    }
    if nr == 0 || nc == 0 {
        let side = if nr == 0 {
            Side::Reference
        } else {
            Side::Current
        };
        d.skipped = Some(
            DriftError::EmptyColumn {
                column: name.into(),
                side,
            }
            .to_string(),
        );
        return d;
    }
    let (score, statistic) = counts_score(test, &rcs, &ccs);
    finish(&mut d, score, statistic);
    d
}

#[cfg(test)]
mod tests {
    use crate::drift::stattest;
    use crate::drift::{Column, Dataset, DriftOptions, StatTest, detect};

    fn ds(cols: Vec<Column>) -> Dataset {
        Dataset::new(cols).unwrap()
    }

    #[test]
    fn integer_classes_sort_as_numbers_for_the_z_test() {
        // First key 2 (not "10"): share of non-2 is 0.5 in the reference, 0.25 in the current.
        let r = ds(vec![Column::categorical_ints("k", [2, 2, 10, 11])]);
        let c = ds(vec![Column::categorical_ints("k", [2, 2, 2, 11])]);
        let rep = detect(
            &r,
            &c,
            &DriftOptions::default().with_test("k", StatTest::ZTest),
        )
        .unwrap();
        let expected = stattest::z_test_proportions(2, 4, 3, 4);
        assert_eq!(rep.column("k").unwrap().score, Some(expected.p_value));
    }

    #[test]
    fn identifier_like_columns_get_a_note() {
        let ids: Vec<String> = (0..100).map(|i| format!("user-{i}")).collect();
        let r = ds(vec![Column::categorical("id", &ids)]);
        let rep = detect(&r, &r, &DriftOptions::default()).unwrap();
        assert!(
            rep.column("id").unwrap().notes[0]
                .starts_with("100 of 100 reference values are distinct")
        );
    }

    #[test]
    fn new_and_vanished_categories_are_reported() {
        let r = ds(vec![Column::categorical("c", ["a", "b", "a", "b"])]);
        let c = ds(vec![Column::categorical("c", ["a", "c", "a", "c"])]);
        let rep = detect(&r, &c, &DriftOptions::default()).unwrap();
        let col = rep.column("c").unwrap();
        assert_eq!(col.new_categories, vec!["c"]);
        assert_eq!(col.missing_categories, vec!["b"]);
        assert_eq!(col.test, StatTest::ChiSquare);
        assert_eq!(col.score, Some(0.0));
    }
}
