//! [`Categories`]: a categorical column's values as one integer code per row and a dictionary
//! of labels, and the builder that interns labels while reading.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::drift::error::DriftError;

/// Code of a missing value in [`Categories::codes`].
pub const MISSING: u32 = u32::MAX;

/// A dictionary-encoded categorical column: one code per row, [`MISSING`] for a missing value.
///
/// ```
/// use oxflow_runtime::drift::Categories;
/// let c = Categories::from_labels([Some("a"), None, Some("b"), Some("a")]);
/// assert_eq!(c.labels(), ["a", "b"]);
/// assert_eq!(c.counts(), vec![2, 1]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Categories {
    pub(super) codes: Vec<u32>,
    pub(super) labels: Vec<String>,
}

impl Categories {
    /// Encodes labels; `None` is a missing value.
    pub fn from_labels<S: AsRef<str>>(values: impl IntoIterator<Item = Option<S>>) -> Self {
        let mut b = CatBuilder::default();
        for v in values {
            match v {
                Some(s) => b.push(s.as_ref()),
                None => b.codes.push(MISSING),
            }
        }
        b.finish()
    }

    /// Builds from codes and labels; fails if a code (other than [`MISSING`]) has no label.
    pub fn from_codes(codes: Vec<u32>, labels: Vec<String>) -> Result<Self, DriftError> {
        if let Some(bad) = codes
            .iter()
            .find(|&&c| c != MISSING && c as usize >= labels.len())
        {
            return Err(DriftError::InvalidArgument(format!(
                "category code {bad} has no label ({} labels given)",
                labels.len()
            )));
        }
        Ok(Categories { codes, labels })
    }

    /// One code per row.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// The label of each code.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of rows holding each label (missing values excluded).
    pub fn counts(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.labels.len()];
        for &c in &self.codes {
            if let Some(n) = counts.get_mut(c as usize) {
                *n += 1;
            }
        }
        counts
    }

    /// Number of missing values.
    pub fn missing(&self) -> usize {
        self.codes.iter().filter(|&&c| c == MISSING).count()
    }
}

/// A fast, non-cryptographic hasher for label dictionaries (labels are not attacker-chosen
/// keys of a long-lived server table, and SipHash dominated CSV reading time).
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
pub(super) struct CatBuilder {
    map: FxMap<String, u32>,
    labels: Vec<String>,
    pub(super) codes: Vec<u32>,
}

impl CatBuilder {
    pub(super) fn push(&mut self, s: &str) {
        let code = match self.map.get(s) {
            Some(&c) => c,
            None => {
                let c = self.labels.len() as u32;
                self.map.insert(s.to_string(), c);
                self.labels.push(s.to_string());
                c
            }
        };
        self.codes.push(code);
    }

    pub(super) fn push_number(&mut self, x: f64) {
        if x.is_nan() {
            self.codes.push(MISSING);
        } else {
            self.push(&format_number(x));
        }
    }

    pub(super) fn finish(self) -> Categories {
        Categories {
            codes: self.codes,
            labels: self.labels,
        }
    }
}

fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
