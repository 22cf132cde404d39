"""Compares `oxflow drift` with scipy and Evidently 0.7 on fixed-seed datasets.

Run by tests/interop/drift.sh. For each dataset it writes reference/current CSV files, runs
the oxflow CLI (JSON output) with the default selection and with every test forced, and checks:
  * p-values and statistics against scipy (ks_2samp, chi2_contingency, chisquare) and the
    scores against Evidently's own stattest functions, to 1e-9 absolute;
  * the default test, score and decision of every column, and the drifted-column count and
    dataset decision, against Evidently's DataDriftPreset.
Exits 1 with a summary when anything differs.
"""
import json, os, subprocess, sys, tempfile

import numpy as np
import pandas as pd
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from drift_gen_data import make_frame  # noqa: E402

from evidently import Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402
from evidently.legacy.core import ColumnType  # noqa: E402
from evidently.legacy.calculations.stattests.psi import _psi  # noqa: E402
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon  # noqa: E402
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm  # noqa: E402
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test  # noqa: E402
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test  # noqa: E402

OX = os.environ.get("OXFLOW_BIN", "target/debug/oxflow")
TOL = 1e-9
EVIDENTLY_NAMES = {
    "K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon", "PSI": "psi",
}
RULES = {"ks": lambda s, t: s <= t, "chisquare": lambda s, t: s < t, "z": lambda s, t: s < t}

failures, checks = [], [0]


def fail(msg):
    failures.append(msg)
    print("MISMATCH", msg)


def close(what, ours, theirs, tol=TOL):
    checks[0] += 1
    if ours is None or theirs is None or not np.isfinite(theirs):
        if not (ours is None and (theirs is None or not np.isfinite(theirs))):
            fail(f"{what}: ours {ours} vs {theirs}")
        return
    if abs(ours - theirs) > tol:
        fail(f"{what}: ours {ours!r} vs {theirs!r} (diff {abs(ours - theirs):.3e})")


def run_ox(ref_csv, cur_csv, workdir, extra):
    out = os.path.join(workdir, "ox.json")
    cmd = [OX, "drift", "--reference", ref_csv, "--current", cur_csv, "--json", out] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip()}")
        return None
    with open(out) as f:
        return json.load(f)


def kinds(df):
    return {c: (ColumnType.Categorical if (df[c].dtype == object or df[c].dtype.name.startswith("int")) else ColumnType.Numerical) for c in df.columns}


def check_dataset(name, n_ref, n_cur, edge, evidently_default=True):
    print(f"== {name}: {n_ref} reference rows, {n_cur} current rows{' + edge columns' if edge else ''}")
    ref, cur = make_frame(n_ref, 42, 0, edge), make_frame(n_cur, 42, 1, edge)
    kind = kinds(ref)
    with tempfile.TemporaryDirectory() as wd:
        rp, cp = os.path.join(wd, "ref.csv"), os.path.join(wd, "cur.csv")
        ref.to_csv(rp, index=False)
        cur.to_csv(cp, index=False)
        num = [c for c in ref.columns if kind[c] == ColumnType.Numerical]
        cat = [c for c in ref.columns if kind[c] == ColumnType.Categorical]

        # 1. Every test forced, against scipy and Evidently's stattest functions.
        for num_test, cat_test in [("ks", "chi2_contingency"), ("wasserstein", "chisquare"),
                                   ("psi", "psi"), ("jensenshannon", "jensenshannon"), ("jensenshannon", "z")]:
            ox = run_ox(rp, cp, wd, ["--num-test", num_test, "--cat-test", cat_test])
            if ox is None:
                continue
            cols = {c["column"]: c for c in ox["columns"]}
            for c in ref.columns:
                r, k = ref[c].dropna(), cur[c].dropna()
                o = cols[c]
                test = num_test if kind[c] == ColumnType.Numerical else cat_test
                if o["test"] != test:
                    fail(f"{name}/{c}: ran {o['test']} instead of {test}")
                    continue
                if c == "const_num" and test in ("ks",):
                    pass
                if test == "ks":
                    res = stats.ks_2samp(r, k)
                    close(f"{name}/{c} ks statistic", o["statistic"], float(res.statistic))
                    close(f"{name}/{c} ks p-value", o["score"], float(res.pvalue))
                elif test == "chi2_contingency":
                    keys = sorted(set(r) | set(k))
                    table = [[int((r == x).sum()) for x in keys], [int((k == x).sum()) for x in keys]]
                    if len(keys) < 2:
                        close(f"{name}/{c} chi2_contingency p", o["score"], 1.0)
                        continue
                    res = stats.chi2_contingency(table)
                    close(f"{name}/{c} chi2_contingency statistic", o["statistic"], float(res.statistic))
                    close(f"{name}/{c} chi2_contingency p", o["score"], float(res.pvalue))
                elif test == "wasserstein":
                    close(f"{name}/{c} wasserstein", o["score"], float(_wasserstein_distance_norm(r, k, kind[c], 0.1)[0]))
                elif test == "chisquare":
                    close(f"{name}/{c} chisquare p", o["score"], float(_chi_stat_test(r, k, kind[c], 0.05)[0]))
                elif test == "psi":
                    close(f"{name}/{c} psi", o["score"], float(_psi(r, k, kind[c], 0.1)[0]))
                elif test == "jensenshannon":
                    close(f"{name}/{c} jensenshannon", o["score"], float(_jensenshannon(r, k, kind[c], 0.1)[0]))
                elif test == "z":
                    close(f"{name}/{c} z p", o["score"], float(_z_stat_test(r, k, kind[c], 0.05)[0]))

        # 2. Default selection and decisions against Evidently's DataDriftPreset.
        if not evidently_default:
            return
        snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref).dict()
        ox = run_ox(rp, cp, wd, [])
        if ox is None:
            return
        cols = {c["column"]: c for c in ox["columns"]}
        ev_count = None
        for m in snap["metrics"]:
            cfg = m["config"]
            if cfg["type"].endswith("DriftedColumnsCount"):
                ev_count = m["value"]
                continue
            if not cfg["type"].endswith("ValueDrift"):
                continue
            c, method, thr, score = cfg["column"], EVIDENTLY_NAMES.get(cfg["method"]), cfg["threshold"], m["value"]
            o = cols[c]
            checks[0] += 1
            if method != o["test"]:
                fail(f"{name}/{c}: default test {o['test']} but Evidently chose {cfg['method']}")
                continue
            close(f"{name}/{c} default {method} score", o["score"], float(score))
            ev_drift = RULES.get(method, lambda s, t: s >= t)(score, thr)
            checks[0] += 1
            if ev_drift != o["drift_detected"]:
                fail(f"{name}/{c}: drift {o['drift_detected']} but Evidently says {ev_drift} ({method}={score}, threshold {thr})")
        checks[0] += 1
        d = ox["dataset"]
        if ev_count is None or int(ev_count["count"]) != d["number_of_drifted_columns"] or abs(ev_count["share"] - d["share_of_drifted_columns"]) > 1e-12:
            fail(f"{name}: drifted columns {d['number_of_drifted_columns']} ({d['share_of_drifted_columns']}) vs Evidently {ev_count}")
        else:
            print(f"   Evidently and oxflow agree: {d['number_of_drifted_columns']} of {d['number_of_columns']} columns drifted, dataset drift {d['dataset_drift']}")


check_dataset("equal_n800", 800, 800, edge=True)
check_dataset("equal_n5000", 5000, 5000, edge=True)
check_dataset("unequal_n600_n1100", 600, 1100, edge=True)
check_dataset("asymptotic_n30000_n20000", 30000, 20000, edge=False)
check_dataset("asymptotic_equal_n12000", 12000, 12000, edge=True, evidently_default=False)

print(f"{checks[0]} checks, {len(failures)} mismatches")
if failures:
    print("FAILED: oxflow drift differs from scipy/Evidently:")
    for f in failures:
        print("  -", f)
    sys.exit(1)
print(f"{checks[0] - len(failures)} passed, {len(failures)} failed")
