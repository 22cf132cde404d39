//! Feeds a stream of numbers (one per line on stdin) to a streaming drift detector with
//! river's defaults and prints the 0-based positions of drift detections as JSON.
//!
//! `cargo run --example drift_stream -- adwin < losses.txt` (detectors: ddm, eddm, adwin,
//! page_hinkley, kswin). Used by `tests/interop/drift.sh` to compare with river.

use std::io::BufRead;

use oxflow::drift::stream::{Adwin, Ddm, Detection, DriftDetector, Eddm, Kswin, PageHinkley};

fn main() -> std::process::ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    let mut detector: Box<dyn DriftDetector> = match name.as_str() {
        "ddm" => Box::new(Ddm::default()),
        "eddm" => Box::new(Eddm::default()),
        "adwin" => Box::new(Adwin::default()),
        "page_hinkley" => Box::new(PageHinkley::default()),
        "kswin" => Box::new(Kswin::default()),
        other => {
            eprintln!(
                "unknown detector `{other}`; expected ddm, eddm, adwin, page_hinkley or kswin"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let mut drifts = Vec::new();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let Ok(line) = line else { break };
        let Ok(x) = line.trim().parse::<f64>() else {
            eprintln!("line {}: `{line}` is not a number", i + 1);
            return std::process::ExitCode::from(2);
        };
        if detector.update(x) == Detection::Drift {
            drifts.push(i);
        }
    }
    println!("{drifts:?}");
    std::process::ExitCode::SUCCESS
}
