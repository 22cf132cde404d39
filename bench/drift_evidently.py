"""Time Evidently's DataDriftPreset end to end on the gen_data.py dataset.

usage: python bench_evidently.py N_ROWS [--html]
Prints one JSON line with phase timings (seconds). Run under /usr/bin/time -v for peak RSS.
"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
import evidently
t_import = time.perf_counter() - t0
sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../tests/interop")
from drift_gen_data import make_pair

n = int(sys.argv[1]); html = "--html" in sys.argv
t = time.perf_counter(); ref, cur = make_pair(n, seed=42); t_gen = time.perf_counter() - t
t = time.perf_counter()
snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
t_run = time.perf_counter() - t
t = time.perf_counter(); js = snap.json(); t_json = time.perf_counter() - t
t_html = None
if html:
    t = time.perf_counter(); import tempfile, os; snap.save_html(os.path.join(tempfile.gettempdir(), f"evidently_{n}.html")); t_html = time.perf_counter() - t
d = json.loads(js)
cnt = d["metrics"][0]["value"]
print(json.dumps({"tool": "evidently", "version": evidently.__version__, "pandas": pd.__version__, "numpy": np.__version__,
                  "n_rows": n, "n_cols": ref.shape[1], "import_s": t_import, "gen_s": t_gen, "report_run_s": t_run,
                  "json_s": t_json, "html_s": t_html, "json_bytes": len(js),
                  "drifted_count": cnt["count"], "drifted_share": cnt["share"]}))
