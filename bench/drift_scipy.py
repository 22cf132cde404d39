"""Time the raw statistics for the same columns with scipy only.

usage: python bench_scipy.py N_ROWS
  ks_chi : scipy.stats.ks_2samp (method='auto': exact if max(n1,n2) <= 10000, else asymptotic)
           on the 20 numeric columns + scipy.stats.chisquare on the 5 categorical columns
           (f_exp = reference counts scaled to the current size, exactly as Evidently does)
  ks_asymp: same KS with method='asymp' (what a Rust port would typically implement)
  evidently_defaults: the tests Evidently picks when n_ref > 1000: Wasserstein distance / std(ref)
           on numeric columns and Jensen-Shannon distance on category frequencies.
Prints one JSON line. Run under /usr/bin/time -v for peak RSS.
"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, scipy
from scipy import stats
from scipy.spatial import distance
t_import = time.perf_counter() - t0
sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../tests/interop")
from drift_gen_data import make_pair

n = int(sys.argv[1])
t = time.perf_counter(); ref, cur = make_pair(n, seed=42); t_gen = time.perf_counter() - t
num = [c for c in ref.columns if c.startswith("num_")]
cat = [c for c in ref.columns if c.startswith("cat_")]
R = {c: ref[c].to_numpy() for c in num}; C = {c: cur[c].to_numpy() for c in num}

def chi(c):
    rv, cv = ref[c].value_counts(), cur[c].value_counts()
    keys = sorted(set(rv.index) | set(cv.index))
    k = len(cur) / len(ref)
    return stats.chisquare([cv.get(x, 0) for x in keys], [rv.get(x, 0) * k for x in keys]).pvalue

t = time.perf_counter()
ks_p = {c: stats.ks_2samp(R[c], C[c]).pvalue for c in num}
chi_p = {c: chi(c) for c in cat}
t_ks_chi = time.perf_counter() - t
t = time.perf_counter()
ks_asymp = {c: stats.ks_2samp(R[c], C[c], method="asymp").pvalue for c in num}
t_ks_asymp = time.perf_counter() - t
t = time.perf_counter()
wd = {c: stats.wasserstein_distance(R[c], C[c]) / max(float(np.std(R[c])), 0.001) for c in num}
def js(c):
    rv, cv = ref[c].value_counts(), cur[c].value_counts()
    keys = list(set(rv.index) | set(cv.index))
    return float(distance.jensenshannon([rv.get(x, 0) / len(ref) for x in keys], [cv.get(x, 0) / len(cur) for x in keys]))
jsd = {c: js(c) for c in cat}
t_defaults = time.perf_counter() - t
print(json.dumps({"tool": "scipy", "version": scipy.__version__, "n_rows": n, "import_s": t_import, "gen_s": t_gen,
                  "ks_chi_s": t_ks_chi, "ks_asymp_s": t_ks_asymp, "evidently_defaults_s": t_defaults,
                  "ks_drifted": int(sum(p <= 0.05 for p in ks_p.values())), "chi_drifted": int(sum(p < 0.05 for p in chi_p.values())),
                  "wd_drifted": int(sum(v >= 0.1 for v in wd.values())), "js_drifted": int(sum(v >= 0.1 for v in jsd.values()))}))
