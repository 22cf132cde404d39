"""Compares oxflow's streaming detectors with river 0.26 on fixed-seed streams.

DDM, EDDM, Page-Hinkley and ADWIN must flag drift at exactly the same positions as river.
KSWIN draws its reference sample at random (river with Python's `random`, oxflow with its own
seeded generator), so only its behaviour is compared: both must fire at most 200 observations
after every change point, or have fired just before it (a detection empties the 100-value
window, so an alarm a few steps before a change absorbs it). Exits 1 with a summary on any difference.
"""
import json, os, subprocess, sys

import numpy as np
from river import drift

BIN = os.environ.get("DRIFT_STREAM_BIN", "target/debug/examples/drift_stream")
failures, checks = [], 0


def ours(name, xs):
    text = "\n".join(repr(float(x)) for x in xs)
    p = subprocess.run([BIN, name], input=text, capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def theirs(det, xs, binary):
    out = []
    for i, x in enumerate(xs):
        det.update(int(x) if binary else float(x))
        if det.drift_detected:
            out.append(i)
    return out


for seed in range(5):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.2, 3)
    binary = np.concatenate([rng.random(3000) < p[0], rng.random(3000) < p[1] + 0.15, rng.random(3000) < p[2]]).astype(int)
    real = np.concatenate([rng.normal(0, 0.2, 3000), rng.normal(rng.uniform(0.5, 1.5), 0.2, 3000), rng.normal(0.3, 0.5, 3000)])
    for name, make, xs, is_binary in [
        ("ddm", drift.binary.DDM, binary, True),
        ("eddm", drift.binary.EDDM, binary, True),
        ("page_hinkley", drift.PageHinkley, real, False),
        ("adwin", drift.ADWIN, real, False),
    ]:
        checks += 1
        a, b = ours(name, xs), theirs(make(), xs, is_binary)
        if a != b:
            failures.append(f"seed {seed} {name}: oxflow {a} vs river {b}")
    checks += 1
    a, b = ours("kswin", real), theirs(drift.KSWIN(seed=seed), real, False)
    for change in (3000, 6000):
        if not any(change - 10 <= i < change + 200 for i in a) or not any(change - 10 <= i < change + 200 for i in b):
            failures.append(f"seed {seed} kswin: change at {change} not flagged within 200 steps (oxflow {a}, river {b})")

print(f"streaming detectors: {checks} comparisons with river, {len(failures)} mismatches")
for f in failures:
    print("MISMATCH", f)
print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
