//! The `oxflow drift` command: compare two CSV files, print a summary table, write JSON and
//! HTML reports, and fail on drift when asked.
//!
//! Exit statuses ([`Exit`]): 0 no dataset drift (or drift without `--fail-on-drift`), 1 dataset
//! drift with `--fail-on-drift`, 2 an error (nothing was checked: bad arguments, a missing,
//! empty or malformed input file, a report that cannot be written).

use std::io::Write;
use std::path::{Path, PathBuf};

use comfy_table::{Cell, Table};

use crate::cli::Exit;

use super::data::{ColumnKind, CsvOptions, read_csv_pair};
use super::detect::{Binning, DriftOptions, detect};
use super::error::DriftError;
use super::report::{ColumnRole, DriftReport};
use super::stattest::StatTest;

/// Arguments of `oxflow drift`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cmd {
///     #[command(flatten)]
///     drift: oxflow_runtime::drift::cli::DriftArgs,
/// }
/// let c = Cmd::parse_from(["oxflow", "--reference", "r.csv", "--current", "c.csv", "--test", "age=ks"]);
/// assert_eq!(c.drift.tests, ["age=ks"]);
/// ```
#[derive(Debug, Clone, clap::Args)]
pub struct DriftArgs {
    /// Reference (baseline) data, a CSV file with a header row.
    #[arg(long, value_name = "FILE")]
    pub reference: PathBuf,
    /// Current data, a CSV file with the same columns.
    #[arg(long, value_name = "FILE")]
    pub current: PathBuf,
    /// Target column: its drift is reported as label drift.
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Test of one column, e.g. `age=ks` (ks, wasserstein, psi, jensenshannon, chisquare,
    /// chi2_contingency, z, mean_shift, std_shift, frequency_shift). Repeatable.
    #[arg(long = "test", value_name = "COLUMN=TEST")]
    pub tests: Vec<String>,
    /// Threshold of one column, e.g. `age=0.01`. Repeatable.
    #[arg(long = "threshold", value_name = "COLUMN=VALUE")]
    pub thresholds: Vec<String>,
    /// Type of one column, `numerical` or `categorical`, overriding inference. Repeatable.
    #[arg(long = "type", value_name = "COLUMN=TYPE")]
    pub types: Vec<String>,
    /// Test for every numerical column without `--test`.
    #[arg(long, value_name = "TEST")]
    pub num_test: Option<String>,
    /// Test for every categorical column without `--test`.
    #[arg(long, value_name = "TEST")]
    pub cat_test: Option<String>,
    /// Bin numerical columns for psi and jensenshannon at this many reference quantiles (e.g.
    /// 10 for deciles) instead of Evidently's equal-width Sturges bins.
    #[arg(long, value_name = "BINS")]
    pub quantile_bins: Option<usize>,
    /// Share of drifted columns at or above which the dataset drifts.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub drift_share: f64,
    /// Exit with status 1 when the dataset drifts (errors exit with 2).
    #[arg(long)]
    pub fail_on_drift: bool,
    /// Skip a column whose current values are all missing, instead of counting it as drifted
    /// (a feature that stopped arriving).
    #[arg(long)]
    pub skip_all_missing: bool,
    /// Field delimiter of both files: one character such as `;` or `|`, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
    /// Push the check's gauges to this Pushgateway (group job=<--push-job>, instance=<host>);
    /// a failed push is a warning. The same gauges a DAG task's check exports, so one alert
    /// covers both.
    #[arg(long, value_name = "URL", env = "OXFLOW_PUSHGATEWAY")]
    pub pushgateway: Option<String>,
    /// The `job` the gauges are pushed under.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "drift",
        requires = "pushgateway"
    )]
    pub push_job: String,
}

/// `--delimiter`: one ASCII character, or `tab` / `\t`.
fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ => match s.as_bytes() {
            [b] if b.is_ascii() && !b.is_ascii_alphanumeric() && *b != b'"' && *b != b'\n' => {
                Ok(*b)
            }
            _ => Err(format!(
                "expected one punctuation character such as `;` or `|`, or `tab`; got `{s}`"
            )),
        },
    }
}

fn split_pair<'a>(s: &'a str, option: &str) -> Result<(&'a str, &'a str), DriftError> {
    s.rsplit_once('=')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| {
            DriftError::InvalidArgument(format!(
                "`{option} {s}`: expected COLUMN=VALUE, e.g. `{option} age=0.05`"
            ))
        })
}

impl DriftArgs {
    /// The CSV options these arguments describe.
    pub fn csv_options(&self) -> Result<CsvOptions, DriftError> {
        let mut o = CsvOptions::default().with_delimiter(self.delimiter);
        for t in &self.types {
            let (c, k) = split_pair(t, "--type")?;
            o.types.insert(c.to_string(), k.parse::<ColumnKind>()?);
        }
        Ok(o)
    }

    /// The drift options these arguments describe.
    pub fn options(&self) -> Result<DriftOptions, DriftError> {
        let mut o = DriftOptions {
            drift_share: self.drift_share,
            target: self.target.clone(),
            skip_all_missing: self.skip_all_missing,
            ..Default::default()
        };
        for t in &self.tests {
            let (c, m) = split_pair(t, "--test")?;
            o.tests.insert(c.to_string(), m.parse::<StatTest>()?);
        }
        for t in &self.thresholds {
            let (c, v) = split_pair(t, "--threshold")?;
            let v: f64 = v.trim().parse().map_err(|_| {
                DriftError::InvalidArgument(format!("`--threshold {t}`: `{v}` is not a number"))
            })?;
            o.thresholds.insert(c.to_string(), v);
        }
        if let Some(k) = self.quantile_bins {
            if k < 2 {
                return Err(DriftError::InvalidArgument(format!(
                    "`--quantile-bins {k}`: at least 2 bins are needed"
                )));
            }
            o.binning = Binning::ReferenceQuantiles(k);
        }
        o.numerical_test = self.num_test.as_deref().map(str::parse).transpose()?;
        o.categorical_test = self.cat_test.as_deref().map(str::parse).transpose()?;
        Ok(o)
    }
}

/// Runs `oxflow drift`, printing to stdout (a closed pipe ends the output quietly): reads both
/// files, checks drift, prints the summary table, writes the reports. Returns [`Exit::Failure`]
/// when `--fail-on-drift` is set and the dataset drifted, else [`Exit::Success`]; an error means
/// nothing was checked (the command line exits 2).
///
/// ```no_run
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cmd {
///     #[command(flatten)]
///     drift: oxflow_runtime::drift::cli::DriftArgs,
/// }
/// let c = Cmd::parse_from(["oxflow", "--reference", "ref.csv", "--current", "cur.csv"]);
/// let exit = oxflow_runtime::drift::cli::run(&c.drift)?;
/// std::process::exit(exit.code().into());
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
pub fn run(args: &DriftArgs) -> Result<Exit, DriftError> {
    run_to(
        args,
        &mut crate::cli::QuietPipe::new(std::io::stdout().lock()),
    )
}

/// [`run`], printing to `out`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cmd {
///     #[command(flatten)]
///     drift: oxflow_runtime::drift::cli::DriftArgs,
/// }
/// # let dir = tempfile::tempdir()?;
/// let data = dir.path().join("data.csv");
/// std::fs::write(&data, "age,plan\n31,free\n47,pro\n52,free\n")?;
/// let path = data.to_str().unwrap();
/// let c = Cmd::parse_from(["oxflow", "--reference", path, "--current", path, "--fail-on-drift"]);
/// let mut out = Vec::new();
/// let exit = oxflow_runtime::drift::cli::run_to(&c.drift, &mut out)?;
/// assert_eq!(exit, oxflow_runtime::cli::Exit::Success);
/// assert!(String::from_utf8(out)?.contains("0 of 2 columns drifted"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_to(args: &DriftArgs, out: &mut dyn Write) -> Result<Exit, DriftError> {
    let options = args.options()?;
    let (reference, current) = read_csv_pair(&args.reference, &args.current, &args.csv_options()?)?;
    let report = detect(&reference, &current, &options)?;
    drop((reference, current));
    let stdout_err = |source| DriftError::Io {
        action: "writing",
        path: Path::new("<stdout>").to_path_buf(),
        source,
    };
    writeln!(out, "{}", summary_table(&report)).map_err(stdout_err)?;
    writeln!(out, "{}", verdict(&report)).map_err(stdout_err)?;
    out.flush().map_err(stdout_err)?;
    if let Some(p) = &args.json {
        report.write_json(p)?;
    }
    if let Some(p) = &args.html {
        report.write_html(p)?;
    }
    Ok(if args.fail_on_drift && report.dataset.dataset_drift {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// One line: how many columns drifted and whether the dataset did.
pub fn verdict(report: &DriftReport) -> String {
    let d = &report.dataset;
    let mut s = format!(
        "{} of {} columns drifted ({:.0}%; dataset drift at {:.0}%): {}",
        d.number_of_drifted_columns,
        d.number_of_columns,
        d.share_of_drifted_columns * 100.0,
        d.drift_share * 100.0,
        if d.dataset_drift {
            "DATASET DRIFT"
        } else {
            "no dataset drift"
        }
    );
    if let Some(l) = report.label_drift() {
        s.push_str(&format!(
            "; label `{}`: {}",
            l.column,
            if l.drift_detected {
                "drift"
            } else {
                "no drift"
            }
        ));
    }
    s
}

/// The terminal table: one row per column.
pub fn summary_table(report: &DriftReport) -> Table {
    let mut t = crate::cli::table([
        "column",
        "type",
        "test",
        "score",
        "threshold",
        "drift",
        "missing ref/cur",
        "note",
    ]);
    for c in &report.columns {
        let mut note = Vec::new();
        if c.role == ColumnRole::Target {
            note.push("target".to_string());
        }
        if let Some(s) = &c.skipped {
            note.push(format!("skipped: {s}"));
        }
        if c.all_missing {
            note.push("every current value is missing".to_string());
        }
        if !c.new_categories.is_empty() {
            note.push(format!("new: {}", c.new_categories.join(", ")));
        }
        if !c.missing_categories.is_empty() {
            note.push(format!("gone: {}", c.missing_categories.join(", ")));
        }
        note.extend(c.notes.iter().cloned());
        if c.reference.infinite + c.current.infinite > 0 {
            note.push(format!(
                "inf ref/cur: {}/{}",
                c.reference.infinite, c.current.infinite
            ));
        }
        t.add_row(vec![
            Cell::new(&c.column),
            Cell::new(c.kind),
            Cell::new(if c.all_missing { "-" } else { c.test.name() }),
            Cell::new(c.score.map_or("-".into(), format_score)),
            Cell::new(format!("{}", c.threshold)),
            Cell::new(if c.drift_detected { "DRIFT" } else { "-" }),
            Cell::new(format!("{}/{}", c.reference.missing, c.current.missing)),
            Cell::new(note.join("; ")),
        ]);
    }
    t
}

fn format_score(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}
