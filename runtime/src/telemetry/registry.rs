//! The series the exporter holds: counters, gauges, and histograms counted into their buckets
//! as each value is recorded.
//!
//! oxflow started with `metrics-exporter-prometheus`'s own registry. Two of its choices cost a
//! pipeline with thousands of tasks (measured in `benches/telemetry.rs`):
//! - A histogram keeps every recorded value until the next scrape or upkeep (blocks of 64
//!   timestamped samples, about 1.5 KiB per series once a value arrives) and sorts them into
//!   buckets only when it renders. Each finished task wrote into a block of its own: four
//!   dependent memory reads and two locked writes, mostly cache misses; the exporter has no
//!   option to count into buckets at record time.
//! - Rendering rebuilds every series' label text on every scrape: about 1.4 µs per counter
//!   line, so 1,000 tasks' counters alone took 7–10 ms.
//!
//! So this module keeps the series: a counter or gauge is one atomic word, a histogram a fixed
//! array of bucket counters and a sum (one atomic add and one compare-and-swap in one or two
//! cache lines), and each series' label text is made once, when it is registered. The text
//! format is still the exporter's: its label escaping (`LabelSet`), its help and type lines
//! (`formatting`), its number formatting; a test renders the same series through both and
//! compares. Histograms without explicit buckets still go to the exporter, which exports them
//! as summaries.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use indexmap::IndexMap;
use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, SharedString};
use metrics_exporter_prometheus::LabelSet;
use metrics_exporter_prometheus::formatting::{write_help_line, write_type_line};
use parking_lot::RwLock;

use super::{DURATION_BUCKETS, LATENCY_BUCKETS};

/// The most bucket bounds a histogram may have.
const MAX_BOUNDS: usize = 16;
const _: () = assert!(DURATION_BUCKETS.len() <= MAX_BOUNDS && LATENCY_BUCKETS.len() <= MAX_BOUNDS);

/// Which histograms a bucket set is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Names {
    /// Exactly this metric name.
    Full(&'static str),
    /// Every name ending with this.
    Suffix(&'static str),
}

impl Names {
    fn matches(self, name: &str) -> bool {
        match self {
            Names::Full(full) => name == full,
            Names::Suffix(suffix) => name.ends_with(suffix),
        }
    }
}

/// One histogram series: a counter per bucket (not cumulative: summed when rendered) and the
/// sum of the values. The bounds, the sum and the first buckets share the first cache line,
/// which is where short task durations land.
#[repr(C, align(64))]
struct Counts {
    bounds: &'static [f64],
    /// `f64` bits.
    sum: AtomicU64,
    /// `buckets[i]` counts the values in (bound i-1, bound i]; the one after the last bound
    /// counts those above it (and NaN, which no `le` bucket holds).
    buckets: [AtomicU64; MAX_BOUNDS + 1],
}

impl Counts {
    fn new(bounds: &'static [f64]) -> Counts {
        assert!(
            bounds.len() <= MAX_BOUNDS,
            "at most {MAX_BOUNDS} bucket bounds"
        );
        Counts {
            bounds,
            sum: AtomicU64::new(0f64.to_bits()),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl HistogramFn for Counts {
    fn record(&self, value: f64) {
        // The first bound the value does not exceed, as Prometheus's `le`.
        let i = if value.is_nan() {
            self.bounds.len()
        } else {
            self.bounds.partition_point(|&bound| bound < value)
        };
        self.buckets[i].fetch_add(1, Relaxed);
        // Relaxed: a scrape may see a value's bucket before its share of the sum, as with any
        // Prometheus client that does not stop recording to render.
        let _ = self.sum.fetch_update(Relaxed, Relaxed, |bits| {
            Some((f64::from_bits(bits) + value).to_bits())
        });
    }
}

/// A series and its label text, made when it is registered.
struct Series<T> {
    labels: String,
    value: Arc<T>,
}

/// The series of one kind, by key.
type Kind<T> = RwLock<HashMap<Key, Series<T>>>;

/// Every counter, gauge and explicitly bucketed histogram of the process, with help texts.
pub(crate) struct Registry {
    /// Checked in order: the first that matches a histogram's name gives its bounds.
    rules: Vec<(Names, &'static [f64])>,
    /// Labels on every series, before the series' own (which override one of the same name),
    /// as the exporter adds its global labels.
    global_labels: IndexMap<String, String>,
    counters: Kind<AtomicU64>,
    /// `f64` bits, as `metrics` keeps a gauge in an `AtomicU64`.
    gauges: Kind<AtomicU64>,
    histograms: Kind<Counts>,
    help: RwLock<HashMap<String, SharedString>>,
}

impl Registry {
    /// An empty registry: histograms named by `rules` (the first match wins) get those bucket
    /// bounds, and every series is labelled with `global_labels` as well.
    pub(crate) fn new(
        rules: Vec<(Names, &'static [f64])>,
        global_labels: IndexMap<String, String>,
    ) -> Registry {
        Registry {
            rules,
            global_labels,
            counters: RwLock::default(),
            gauges: RwLock::default(),
            histograms: RwLock::default(),
            help: RwLock::default(),
        }
    }

    /// The bounds for histograms called `name`, if they have explicit buckets.
    pub(crate) fn bounds(&self, name: &str) -> Option<&'static [f64]> {
        self.rules
            .iter()
            .find(|(names, _)| names.matches(name))
            .map(|&(_, bounds)| bounds)
    }

    /// The series `key` of a kind, made with `make` on first use.
    fn series<T>(&self, kind: &Kind<T>, key: &Key, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(s) = kind.read().get(key) {
            return s.value.clone();
        }
        kind.write()
            .entry(key.clone())
            .or_insert_with(|| Series {
                labels: LabelSet::from_key_and_global(key, &self.global_labels)
                    .to_strings()
                    .collect::<Vec<_>>()
                    .join(","),
                value: Arc::new(make()),
            })
            .value
            .clone()
    }

    /// The counter `key`, made at zero on first use.
    pub(crate) fn counter(&self, key: &Key) -> Counter {
        Counter::from_arc(self.series(&self.counters, key, || AtomicU64::new(0)))
    }

    /// The gauge `key`, made at zero on first use.
    pub(crate) fn gauge(&self, key: &Key) -> Gauge {
        Gauge::from_arc(self.series(&self.gauges, key, || AtomicU64::new(0f64.to_bits())))
    }

    /// The histogram `key`, made on first use; `None` when its name has no explicit buckets.
    pub(crate) fn histogram(&self, key: &Key) -> Option<Histogram> {
        let bounds = self.bounds(key.name())?;
        Some(Histogram::from_arc(self.series(
            &self.histograms,
            key,
            || Counts::new(bounds),
        )))
    }

    /// Keeps the help text of the series called `name`.
    pub(crate) fn describe(&self, name: &str, help: SharedString) {
        self.help.write().insert(name.to_owned(), help);
    }

    /// Appends every series in Prometheus's text format, as the exporter orders them:
    /// counters, then gauges, then histograms; a family per name, in name order.
    pub(crate) fn render(&self, out: &mut String) {
        let help = self.help.read();
        let (counters, gauges, histograms) = (
            self.counters.read(),
            self.gauges.read(),
            self.histograms.read(),
        );
        // About 20 lines of 80 bytes for a histogram, one line for the others.
        out.reserve((counters.len() + gauges.len()) * 100 + histograms.len() * 1600);
        families(out, &help, "counter", &counters, |out, name, s| {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{name}{} {}", Braced(&s.labels), s.value.load(Relaxed));
        });
        families(out, &help, "gauge", &gauges, |out, name, s| {
            let value = f64::from_bits(s.value.load(Relaxed));
            let _ = writeln!(out, "{name}{} {value}", Braced(&s.labels));
        });
        // Each bound's text once per scrape, not once per line.
        let le: Vec<(&'static [f64], Vec<String>)> = self
            .rules
            .iter()
            .map(|&(_, bounds)| (bounds, bounds.iter().map(f64::to_string).collect()))
            .collect();
        families(out, &help, "histogram", &histograms, |out, name, s| {
            let counts = &s.value;
            let le_text = le
                .iter()
                .find(|(bounds, _)| std::ptr::eq(*bounds, counts.bounds))
                .map(|(_, text)| text.as_slice())
                .expect("a series' bounds are a rule's");
            write_histogram(out, name, &s.labels, counts, le_text);
        });
    }
}

/// `{labels}`, or nothing for no labels.
struct Braced<'a>(&'a str);

impl std::fmt::Display for Braced<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{{{}}}", self.0)
        }
    }
}

/// Writes the series of one kind, a family per name in name order: its help and type lines,
/// each series with `write`, and a blank line after it, as the exporter does.
fn families<T>(
    out: &mut String,
    help: &HashMap<String, SharedString>,
    kind: &str,
    series: &HashMap<Key, Series<T>>,
    mut write: impl FnMut(&mut String, &str, &Series<T>),
) {
    let mut sorted: Vec<(&Key, &Series<T>)> = series.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.name().cmp(b.0.name()));
    let mut family: Option<&str> = None;
    for (key, s) in sorted {
        let name = key.name();
        if family != Some(name) {
            if family.is_some() {
                out.push('\n');
            }
            if let Some(text) = help.get(name) {
                write_help_line(out, name, None, None, text);
            }
            write_type_line(out, name, None, None, kind);
            family = Some(name);
        }
        write(out, name, s);
    }
    if family.is_some() {
        out.push('\n');
    }
}

/// Writes one histogram series: its cumulative buckets, sum and count.
fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    counts: &Counts,
    le_text: &[String],
) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut total = 0;
    for (n, bound) in counts.buckets.iter().zip(le_text) {
        total += n.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {total}");
    }
    total += counts.buckets[counts.bounds.len()].load(Relaxed);
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
    let sum = f64::from_bits(counts.sum.load(Relaxed));
    let _ = writeln!(out, "{name}_sum{} {sum}", Braced(labels));
    let _ = writeln!(out, "{name}_count{} {total}", Braced(labels));
}

#[cfg(test)]
mod tests {
    use metrics::Label;

    use super::*;

    fn registry() -> Registry {
        Registry::new(
            vec![
                (Names::Full("lag_seconds"), &[0.5, 1.0]),
                (Names::Suffix("_seconds"), &[0.001, 0.1, 1.0]),
            ],
            IndexMap::from([("service".to_owned(), "nightly".to_owned())]),
        )
    }

    #[test]
    fn values_land_in_the_first_bucket_they_do_not_exceed() {
        let r = registry();
        let key = Key::from_parts("task_seconds", vec![Label::new("task", "a")]);
        let handle = r.histogram(&key).expect("a bucketed name");
        for v in [0.0005, 0.001, 0.05, 2.0, f64::NAN] {
            handle.record(v);
        }
        let mut text = String::new();
        r.render(&mut text);
        // 0.001 belongs in le="0.001"; 2.0 and NaN only in +Inf.
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "# TYPE task_seconds histogram",
                r#"task_seconds_bucket{service="nightly",task="a",le="0.001"} 2"#,
                r#"task_seconds_bucket{service="nightly",task="a",le="0.1"} 3"#,
                r#"task_seconds_bucket{service="nightly",task="a",le="1"} 3"#,
                r#"task_seconds_bucket{service="nightly",task="a",le="+Inf"} 5"#,
                r#"task_seconds_sum{service="nightly",task="a"} NaN"#,
                r#"task_seconds_count{service="nightly",task="a"} 5"#,
                "",
            ]
        );
    }

    #[test]
    fn a_full_name_rule_comes_before_a_suffix_and_other_names_are_not_taken() {
        let r = registry();
        assert_eq!(r.bounds("lag_seconds"), Some(&[0.5, 1.0][..]));
        assert_eq!(r.bounds("task_seconds"), Some(&[0.001, 0.1, 1.0][..]));
        assert!(r.histogram(&Key::from_name("rows")).is_none());
    }

    #[test]
    fn one_family_per_name_with_its_help_and_escaped_labels() {
        let r = registry();
        r.describe("task_seconds", "How long a task ran.".into());
        for task in ["b", "a \"quoted\"\nline"] {
            let key = Key::from_parts("task_seconds", vec![Label::new("task", task)]);
            r.histogram(&key).unwrap().record(0.01);
        }
        r.histogram(&Key::from_name("lag_seconds"))
            .unwrap()
            .record(0.7);
        // The same key again is the same series.
        r.histogram(&Key::from_name("lag_seconds"))
            .unwrap()
            .record(0.2);
        let mut text = String::new();
        r.render(&mut text);
        assert_eq!(
            text.matches("# TYPE task_seconds histogram").count(),
            1,
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE lag_seconds histogram").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("# HELP task_seconds How long a task ran.\n"),
            "{text}"
        );
        assert!(text.contains(r#"task="a \"quoted\"\nline""#), "{text}");
        assert!(
            text.contains(r#"lag_seconds_bucket{service="nightly",le="0.5"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"lag_seconds_count{service="nightly"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"lag_seconds_sum{service="nightly"} 0.8999999999999999"#),
            "{text}"
        );
        // Families are apart by a blank line, as the exporter writes them.
        assert!(text.contains("\n\n# HELP task_seconds"), "{text}");
    }

    /// The same series through the exporter's own registry and through this one render the
    /// same text: a user switching between them sees no difference.
    #[test]
    fn the_text_is_the_exporters() {
        let bounds: &'static [f64] = &[0.001, 0.1, 1.0];
        let exporter = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(bounds)
            .unwrap()
            .add_global_label("service", "nightly")
            .build_recorder();
        let ours = registry();
        let meta = metrics::Metadata::new("t", metrics::Level::INFO, None);
        for (name, help) in [
            ("runs_total", "Runs."),
            ("running", "Running now: \\ and\nmore."),
            ("task_seconds", "How long."),
        ] {
            metrics::Recorder::describe_counter(&exporter, name.into(), None, help.into());
            ours.describe(name, help.into());
        }
        let label_sets = [
            vec![Label::new("task", "a \"b\"\\\nc é"), Label::new("dag", "d")],
            vec![Label::new("service", "own")],
            vec![],
        ];
        for labels in label_sets {
            let key = |name: &'static str| Key::from_parts(name, labels.clone());
            let theirs =
                metrics::Recorder::register_histogram(&exporter, &key("task_seconds"), &meta);
            let mine = ours.histogram(&key("task_seconds")).unwrap();
            for v in [0.0005, 0.001, 0.05, 0.5, 2.0] {
                theirs.record(v);
                mine.record(v);
            }
            metrics::Recorder::register_counter(&exporter, &key("runs_total"), &meta).increment(3);
            ours.counter(&key("runs_total")).increment(3);
            metrics::Recorder::register_gauge(&exporter, &key("running"), &meta).set(2.5);
            ours.gauge(&key("running")).set(2.5);
        }
        let mut text = String::new();
        ours.render(&mut text);
        let theirs = exporter.handle().render();
        // The exporter orders the series of a family by hash: compare sorted lines.
        let lines = |t: &str| {
            let mut l: Vec<String> = t.lines().map(str::to_owned).collect();
            l.sort();
            l
        };
        assert_eq!(lines(&text), lines(&theirs));
    }
}
