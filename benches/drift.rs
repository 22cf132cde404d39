//! Drift benchmark: the default report (no HTML) on reference and current data of N rows ×
//! 25 columns (20 numerical, 5 categorical), generated in memory with the same fixed-seed
//! algorithm as `tests/interop/drift_gen_data.py`. Prints one JSON line with wall time, peak
//! memory and the in-memory size of the two datasets.
//!
//! `cargo bench --bench drift -- [ROWS] [--write-csv DIR]` (run by `bench/drift.sh`).

use std::time::Instant;

use oxflow::drift::{Categories, Column, ColumnData, Dataset, DriftOptions, detect};

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
const SHIFT_SD: [f64; 5] = [0.03, 0.06, 0.15, 0.3, 0.6];
const CAT_W: [u64; 10] = [20, 15, 12, 10, 9, 8, 8, 7, 6, 5];
const CAT_W_SHIFTED: [u64; 10] = [10, 15, 12, 10, 9, 8, 8, 7, 6, 15];

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn stream(seed: u64, ds: u64, col: u64) -> impl Iterator<Item = u64> {
    let s = mix((seed << 20) + (ds << 10) + col);
    (1u64..).map(move |k| mix(s.wrapping_add(k.wrapping_mul(GAMMA))))
}

fn normals(seed: u64, ds: u64, col: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut it = stream(seed, ds, col);
    let scale = 2f64.powi(-53);
    (0..n)
        .map(|_| {
            let (a, b) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
            let u1 = ((a >> 11) as f64 + 1.0) * scale;
            let u2 = (b >> 11) as f64 * scale;
            mean + sd * ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos())
        })
        .collect()
}

fn categories(seed: u64, ds: u64, col: u64, n: usize, w: &[u64]) -> Vec<u32> {
    let total: u64 = w.iter().sum();
    let mut cum = 0u64;
    let thr: Vec<u64> = w[..w.len() - 1]
        .iter()
        .map(|x| {
            cum += x;
            (((cum as u128) << 53) / total as u128) as u64
        })
        .collect();
    stream(seed, ds, col)
        .take(n)
        .map(|o| thr.iter().filter(|&&t| t <= o >> 11).count() as u32)
        .collect()
}

fn frame(n: usize, ds: u64) -> Dataset {
    let mut cols = Vec::new();
    for j in 0..20u64 {
        let sd = 1.0 + 0.1 * j as f64;
        let mut mean = j as f64 * 0.5;
        if ds == 1 && (j as usize) < SHIFT_SD.len() {
            mean += SHIFT_SD[j as usize] * sd;
        }
        cols.push(Column::numerical(
            format!("num_{j:02}"),
            normals(42, ds, j, n, mean, sd),
        ));
    }
    let labels: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    for c in 0..5u64 {
        let w = if ds == 1 && c == 0 {
            &CAT_W_SHIFTED
        } else {
            &CAT_W
        };
        let cats = Categories::from_codes(categories(42, ds, 20 + c, n, w), labels.clone())
            .expect("codes < 10");
        cols.push(Column::new(
            format!("cat_{c}"),
            ColumnData::Categorical(cats),
        ));
    }
    Dataset::new(cols).expect("equal lengths")
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds (user + system) of this process so far, from /proc (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            Some((rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

fn write_csv(ds: &Dataset, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "{}", ds.names().collect::<Vec<_>>().join(","))?;
    let mut line = String::new();
    for i in 0..ds.n_rows() {
        line.clear();
        for (k, c) in ds.columns().iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            match c.data() {
                ColumnData::Numerical(v) => line.push_str(&v[i].to_string()),
                ColumnData::Categorical(cat) => {
                    line.push_str(&cat.labels()[cat.codes()[i] as usize])
                }
            }
        }
        writeln!(w, "{line}")?;
    }
    w.flush()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rows: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let csv_dir = args
        .iter()
        .position(|a| a == "--write-csv")
        .and_then(|i| args.get(i + 1));
    let t = Instant::now();
    let (reference, current) = std::thread::scope(|s| {
        let h = s.spawn(|| frame(rows, 1));
        (frame(rows, 0), h.join().expect("generator thread"))
    });
    let gen_s = t.elapsed().as_secs_f64();
    if let Some(dir) = csv_dir {
        let dir = std::path::Path::new(dir);
        write_csv(&reference, &dir.join("reference.csv")).expect("write reference.csv");
        write_csv(&current, &dir.join("current.csv")).expect("write current.csv");
        eprintln!("wrote {}/reference.csv and current.csv", dir.display());
        return;
    }
    let data_bytes = reference.heap_size() + current.heap_size();
    let rss_before = peak_rss_bytes();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut drifted = 0;
    for _ in 0..3 {
        let c0 = cpu_seconds();
        let t = Instant::now();
        let report = detect(&reference, &current, &DriftOptions::default()).expect("detect");
        times.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c0);
        drifted = report.dataset.number_of_drifted_columns;
        std::hint::black_box(report);
    }
    let peak = peak_rss_bytes();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"tool\":\"oxflow\",\"n_rows\":{rows},\"gen_s\":{gen_s:.3},\"detect_s_runs\":{times:?},\"detect_s_median\":{:.4},\"detect_cpu_s_runs\":{cpu:?},\
         \"drifted_count\":{drifted},\"data_bytes\":{data_bytes},\"rss_after_gen_bytes\":{rss_before},\"peak_rss_bytes\":{peak},\
         \"peak_over_data\":{:.3},\"threads\":{}}}",
        times[1],
        peak as f64 / data_bytes as f64,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
