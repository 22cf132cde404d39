//! Reading CSV files into datasets: [`CsvOptions`] and [`read_csv_pair`].

use std::collections::HashMap;
use std::path::Path;

use super::dataset::Dataset;
use super::infer::{ColumnBuilder, Partial};
use super::kind::ColumnKind;
use crate::drift::error::DriftError;

/// How CSV files are read.
///
/// Types are inferred per column: a column whose every non-missing cell parses as a number is
/// numerical, unless all cells are integers with at most ten distinct values over both files
/// (then categorical, as Evidently does); anything else is categorical. Empty cells and `NA`,
/// `N/A`, `NaN`, `nan`, `null`, `NULL`, `None` are missing values. `types` overrides the
/// inference per column.
///
/// A file must hold a header row and at least one data row. A header that reads as a single
/// column whose name contains `;` or a tab is refused ([`DriftError::SuspectDelimiter`]): the
/// file is almost surely separated by that character, so set `delimiter`.
///
/// ```
/// use oxflow_runtime::drift::{ColumnKind, CsvOptions};
/// let opts = CsvOptions::default()
///     .with_type("zip", ColumnKind::Categorical)
///     .with_delimiter(b';');
/// assert_eq!(opts.types["zip"], ColumnKind::Categorical);
/// assert_eq!(opts.delimiter, b';');
/// ```
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Column types given by the user.
    pub types: HashMap<String, ColumnKind>,
    /// Field delimiter (default `,`).
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            types: HashMap::new(),
            delimiter: b',',
        }
    }
}

impl CsvOptions {
    /// Forces the type of one column.
    pub fn with_type(mut self, column: impl Into<String>, kind: ColumnKind) -> Self {
        self.types.insert(column.into(), kind);
        self
    }

    /// Sets the field delimiter.
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// Reads the reference and current CSV files at once (one thread each) and infers types over
/// both, so that a column gets the same type on both sides.
///
/// ```no_run
/// use oxflow_runtime::drift::{read_csv_pair, CsvOptions};
/// let (reference, current) = read_csv_pair("ref.csv", "cur.csv", &CsvOptions::default())?;
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
pub fn read_csv_pair(
    reference: impl AsRef<Path>,
    current: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<(Dataset, Dataset), DriftError> {
    let (reference, current) = (reference.as_ref(), current.as_ref());
    let (r, c) = std::thread::scope(|s| {
        let h = s.spawn(|| read_csv_partials(current, options));
        let r = read_csv_partials(reference, options);
        let c = h.join().unwrap_or_else(|_| {
            Err(DriftError::InvalidArgument(
                "CSV reader thread failed".into(),
            ))
        });
        (r, c)
    });
    let (r, c) = (r?, c?);
    let mut cur_by_name: HashMap<String, Partial> =
        c.into_iter().map(|p| (p.name.clone(), p)).collect();
    let mut ref_cols = Vec::new();
    let mut cur_cols = Vec::new();
    let mut cur_order: Vec<Partial> = Vec::new();
    for p in r {
        match cur_by_name.remove(&p.name) {
            Some(q) => {
                let (a, b) = Partial::resolve_pair(p, q);
                ref_cols.push(a);
                cur_cols.push(b);
            }
            None => ref_cols.push(p.resolve_alone()),
        }
    }
    cur_order.extend(cur_by_name.into_values());
    cur_order.sort_by(|a, b| a.name.cmp(&b.name));
    cur_cols.extend(cur_order.into_iter().map(Partial::resolve_alone));
    Ok((Dataset::new(ref_cols)?, Dataset::new(cur_cols)?))
}

pub(super) fn read_csv_partials(
    path: &Path,
    options: &CsvOptions,
) -> Result<Vec<Partial>, DriftError> {
    let csv_err = |source| DriftError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .map_err(csv_err)?;
    let headers = rdr.headers().map_err(csv_err)?.clone();
    if headers.is_empty() {
        return Err(DriftError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    if let [only] = headers.iter().collect::<Vec<_>>()[..]
        && let Some(found) = [';', '\t']
            .into_iter()
            .find(|&c| c != char::from(options.delimiter) && only.contains(c))
    {
        return Err(DriftError::SuspectDelimiter {
            path: path.to_path_buf(),
            header: only.to_string(),
            found,
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut builders: Vec<ColumnBuilder> = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        if !seen.insert(h.to_string()) {
            return Err(DriftError::DuplicateColumn {
                column: h.to_string(),
            });
        }
        builders.push(ColumnBuilder::new(
            h.to_string(),
            options.types.get(h).copied(),
        ));
    }
    // One UTF-8 check per record (StringRecord) rather than one per field: measured 10–15%
    // less CPU for the CLI on two 1M-row files.
    let mut rec = csv::StringRecord::new();
    let mut row = 0usize;
    while rdr.read_record(&mut rec).map_err(csv_err)? {
        row += 1;
        for (b, text) in builders.iter_mut().zip(rec.iter()) {
            b.push_text(text, row)?;
        }
    }
    if row == 0 {
        return Err(DriftError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(builders.into_iter().map(ColumnBuilder::finish).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::data::ColumnData;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_types_are_inferred_over_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let r = write(&dir, "r.csv", "x,c,k,m\n1.5,a,1,\n2.5,b,2,3\nnan,a,3,x\n");
        let c = write(&dir, "c.csv", "x,c,k,m\n1.0,b,2,y\n2,,3,\ninf,a,1,z\n");
        let (r, c) = read_csv_pair(&r, &c, &CsvOptions::default()).unwrap();
        assert_eq!(r.column("x").unwrap().kind(), ColumnKind::Numerical);
        assert_eq!(r.column("c").unwrap().kind(), ColumnKind::Categorical);
        assert_eq!(r.column("k").unwrap().kind(), ColumnKind::Categorical);
        assert_eq!(c.column("k").unwrap().kind(), ColumnKind::Categorical);
        assert_eq!(r.column("m").unwrap().kind(), ColumnKind::Categorical);
        let ColumnData::Categorical(m) = r.column("m").unwrap().data() else {
            panic!()
        };
        assert_eq!(m.labels(), ["3", "x"]);
        assert_eq!(m.missing(), 1);
    }

    #[test]
    fn files_without_data_or_with_another_delimiter_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let o = CsvOptions::default();
        let empty = write(&dir, "empty.csv", "");
        assert!(matches!(
            Dataset::read_csv(&empty, &o),
            Err(DriftError::EmptyFile { path }) if path == empty
        ));
        let header = write(&dir, "header.csv", "x,y\n");
        assert!(matches!(
            Dataset::read_csv(&header, &o),
            Err(DriftError::NoRows { path }) if path == header
        ));
        let semi = write(&dir, "semi.csv", "x;y\n1;2\n");
        let e = Dataset::read_csv(&semi, &o).unwrap_err();
        assert!(
            matches!(&e, DriftError::SuspectDelimiter { header, found: ';', .. } if header == "x;y"),
            "{e}"
        );
        let ds = Dataset::read_csv(&semi, &o.clone().with_delimiter(b';')).unwrap();
        assert_eq!(ds.names().collect::<Vec<_>>(), ["x", "y"]);
        // One column without a delimiter-like character is a fine single-column file.
        let one = write(&dir, "one.csv", "x\n1\n");
        assert_eq!(Dataset::read_csv(&one, &o).unwrap().n_rows(), 1);
    }

    #[test]
    fn forced_numerical_names_the_column_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let r = write(&dir, "r.csv", "x\n1\nabc\n");
        let e = Dataset::read_csv(
            &r,
            &CsvOptions::default().with_type("x", ColumnKind::Numerical),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "column `x`, row 2: cannot read `abc` as a number; declare the column categorical"
        );
    }
}
