//! `oxflow drift` driven as a user does: the standalone binary, its exit statuses and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn oxflow(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxflow"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// `n` rows of `x` (a number around `shift`) and `plan` (a label).
fn csv(n: usize, shift: f64, sep: char) -> String {
    let mut s = format!("x{sep}plan\n");
    for i in 0..n {
        let plan = if i % 3 == 0 { "pro" } else { "free" };
        s.push_str(&format!("{}{sep}{plan}\n", (i % 50) as f64 + shift));
    }
    s
}

fn drift(dir: &Path, reference: &str, current: &str, more: &[&str]) -> Output {
    let mut args = vec!["drift", "--reference", reference, "--current", current];
    args.extend_from_slice(more);
    oxflow(dir, &args)
}

#[test]
fn exit_statuses_tell_drift_from_broken_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "ref.csv", &csv(400, 0.0, ','));
    write(d, "same.csv", &csv(400, 0.0, ','));
    write(d, "moved.csv", &csv(400, 30.0, ','));
    write(d, "ragged.csv", "x,plan\n1,pro\n2,free,extra\n");

    let out = drift(d, "ref.csv", "same.csv", &["--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = drift(d, "ref.csv", "moved.csv", &[]);
    assert_eq!(out.status.code(), Some(0), "drift without --fail-on-drift");
    let out = drift(d, "ref.csv", "moved.csv", &["--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).0.contains("DATASET DRIFT"));

    // Broken input is 2, never 1, even with --fail-on-drift.
    let broken: [(&[&str], &str); 6] = [
        (
            &["drift", "--reference", "nope.csv", "--current", "same.csv"],
            "error: reading `nope.csv`",
        ),
        (
            &["drift", "--reference", "ref.csv", "--current", "ragged.csv"],
            "error: reading `ragged.csv`",
        ),
        (
            &[
                "drift",
                "--reference",
                "ref.csv",
                "--current",
                "moved.csv",
                "--json",
                "no/such/dir/report.json",
            ],
            "error: writing `no/such/dir/report.json`",
        ),
        (
            &[
                "drift",
                "--reference",
                "ref.csv",
                "--current",
                "same.csv",
                "--threshold",
                "x",
            ],
            "expected COLUMN=VALUE",
        ),
        (
            &[
                "drift",
                "--reference",
                "ref.csv",
                "--current",
                "same.csv",
                "--test",
                "plan=ks",
            ],
            "test `ks` does not apply to categorical columns",
        ),
        (&["drift", "--reference", "ref.csv"], "--current <FILE>"),
    ];
    for (args, want) in broken {
        let mut args = args.to_vec();
        args.push("--fail-on-drift");
        let out = oxflow(d, &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }

    // Every status is documented where a user looks.
    let (help, _) = text(&oxflow(d, &["drift", "--help"]));
    for line in [
        "0    no dataset drift",
        "1    dataset drift found, with --fail-on-drift",
        "2    error, nothing was checked",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

#[test]
fn an_input_without_rows_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "ref.csv", &csv(100, 0.0, ','));
    write(d, "empty.csv", "");
    write(d, "header.csv", "x,plan\n");

    let out = drift(d, "empty.csv", "ref.csv", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out).1,
        "error: `empty.csv` is empty: expected a header row and at least one data row\n"
    );
    // With or without types given, a header alone is not data that passes the check.
    for more in [
        &[][..],
        &["--type", "x=numerical", "--type", "plan=categorical"],
    ] {
        let out = drift(d, "ref.csv", "header.csv", more);
        assert_eq!(out.status.code(), Some(2), "{more:?}");
        assert_eq!(
            text(&out).1,
            "error: `header.csv` has a header but no data rows\n"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_column_that_stops_arriving_is_drift_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "ref.csv", &csv(300, 0.0, ','));
    let mut gone = String::from("x,plan\n");
    for i in 0..300 {
        gone.push_str(if i % 3 == 0 { ",pro\n" } else { ",free\n" });
    }
    write(d, "cur.csv", &gone);

    let out = drift(
        d,
        "ref.csv",
        "cur.csv",
        &["--fail-on-drift", "--json", "r.json"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let x = stdout.lines().find(|l| l.starts_with("| x ")).unwrap();
    assert!(
        x.contains("DRIFT") && x.contains("every current value is missing"),
        "{stdout}"
    );
    assert!(stdout.contains("1 of 2 columns drifted"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let col = &json["columns"][0];
    assert_eq!(
        (&col["column"], &col["all_missing"], &col["drift_detected"]),
        (
            &serde_json::json!("x"),
            &serde_json::json!(true),
            &serde_json::json!(true)
        )
    );

    let out = drift(
        d,
        "ref.csv",
        "cur.csv",
        &["--fail-on-drift", "--skip-all-missing"],
    );
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("skipped: column `x` has no finite, non-missing value in the current data")
    );
}

#[test]
fn other_delimiters_are_named_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "ref.csv", &csv(100, 0.0, ','));
    write(d, "semi.csv", &csv(100, 0.0, ';'));
    write(d, "semi_ref.csv", &csv(100, 0.0, ';'));
    write(d, "tabs.tsv", &csv(100, 0.0, '\t'));

    let out = drift(d, "ref.csv", "semi.csv", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out).1,
        "error: `semi.csv`: the header is one column, `x;plan`, which contains `;`; if the file is separated by `;`, pass `--delimiter ';'`\n"
    );
    // Both files alike would otherwise "work" on one meaningless column.
    let out = drift(d, "semi_ref.csv", "semi.csv", &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = drift(d, "tabs.tsv", "tabs.tsv", &[]);
    assert!(
        text(&out).1.contains(
            "which contains a tab; if the file is separated by a tab, pass `--delimiter tab`"
        ),
        "{:?}",
        text(&out)
    );

    let out = drift(d, "semi_ref.csv", "semi.csv", &["--delimiter", ";"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("0 of 2 columns drifted"), "{stdout}");
    let out = drift(d, "tabs.tsv", "tabs.tsv", &["--delimiter", "tab"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    let out = drift(d, "ref.csv", "ref.csv", &["--delimiter", "::"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("expected one punctuation character"));
}

/// Characters of the Unicode box-drawing block, which a table must not use.
fn has_box_drawing(s: &str) -> bool {
    s.chars().any(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

#[test]
fn drift_help_has_only_its_own_options_and_its_table_is_ascii() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (help, _) = text(&oxflow(d, &["drift", "--help"]));
    assert!(help.contains("--reference <FILE>") && help.contains("--delimiter <CHAR>"));
    assert!(
        !help.contains("--tracking-uri") && !help.contains("--log-dir"),
        "{help}"
    );
    // The store options are still there for the commands that use a store.
    let (help, _) = text(&oxflow(d, &["runs", "list", "--help"]));
    assert!(help.contains("--tracking-uri"), "{help}");

    write(d, "ref.csv", &csv(100, 0.0, ','));
    let (table, _) = text(&drift(d, "ref.csv", "ref.csv", &[]));
    assert!(table.starts_with("+--------+"), "{table}");
    assert!(!has_box_drawing(&table), "{table}");
    let (experiments, _) = text(&oxflow(d, &["experiments", "list"]));
    assert!(experiments.starts_with("+----+"), "{experiments}");
}
