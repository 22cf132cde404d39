#!/usr/bin/env python3
# Copied from the project research notes (research/bench_mlflow.py): the MLflow side of
# bench/tracking.sh. Change: stores go under $BENCH_DIR (default /tmp).
"""Baseline timings of the MLflow Python client (FileStore and SQLite backends).

Written as a reference point for a Rust MLOps runtime that should be interoperable
with MLflow. Measures, each REPS times (median reported):

  a  start+end 100 runs with the fluent API (mlflow.start_run / mlflow.end_run)
  a2 create+terminate 100 runs with MlflowClient (create_run / set_terminated)
  b  10,000 mlflow.log_metric calls (one metric per call) in one run
  c  100,000 metrics via MlflowClient.log_batch, 1000 metrics per call
  d  1000 params, one mlflow.log_param call each
  d2 1000 params via mlflow.log_params (client splits into batches of 100)
  g  mlflow.search_runs (pandas) over 1000 runs with a metric+param filter
  f  `python -c 'import mlflow'` wall time (fresh interpreter)

Every repetition uses a fresh store under a temp dir in /tmp; store creation
(and, for SQLite, the schema migration) is done before the timer starts.

Usage (from any directory; needs a venv with mlflow installed):
    /tmp/venv-mlflow/bin/python bench_mlflow.py                  # everything, 3 reps
    /tmp/venv-mlflow/bin/python bench_mlflow.py --reps 1 --only a,b --backends file
    /tmp/venv-mlflow/bin/python bench_mlflow.py --json out.json

Notes:
  * MLflow >= 3.7-ish refuses the file store unless MLFLOW_ALLOW_FILE_STORE=true; this
    script sets it.
  * The fluent API resolves git info of the *script's* directory once per process and
    adds mlflow.source.git.* tags to every run if the script lives in a git checkout.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
warnings.filterwarnings("ignore")

import logging  # noqa: E402

logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402


def fresh_uri(backend, tmp):
    if backend == "file":
        return "file://" + os.path.join(tmp, "mlruns")
    return "sqlite:///" + os.path.join(tmp, "mlflow.db")


def prepare(backend):
    """Create a fresh store, force its creation/migration, return (tmp, uri, client, exp_id)."""
    tmp = tempfile.mkdtemp(prefix=f"mlfbench-{backend}-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    uri = fresh_uri(backend, tmp)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment("bench")
    mlflow.set_experiment(experiment_id=exp_id)
    # warm the store with one run so lazy imports / first-use costs are not timed
    r = client.create_run(exp_id)
    client.log_metric(r.info.run_id, "warm", 1.0)
    client.set_terminated(r.info.run_id)
    return tmp, uri, client, exp_id


def bench_a(backend):
    tmp, uri, client, exp_id = prepare(backend)
    t0 = time.perf_counter()
    for i in range(100):
        mlflow.start_run(experiment_id=exp_id, run_name=f"r{i}")
        mlflow.end_run()
    dt = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    return dt


def bench_a2(backend):
    tmp, uri, client, exp_id = prepare(backend)
    t0 = time.perf_counter()
    for i in range(100):
        r = client.create_run(exp_id, run_name=f"r{i}")
        client.set_terminated(r.info.run_id)
    dt = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    return dt


def bench_b(backend, n=10_000):
    tmp, uri, client, exp_id = prepare(backend)
    mlflow.start_run(experiment_id=exp_id)
    t0 = time.perf_counter()
    for i in range(n):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    dt = time.perf_counter() - t0
    mlflow.end_run()
    shutil.rmtree(tmp, ignore_errors=True)
    return dt


def bench_c(backend, n=100_000, batch=1000, keys=10):
    tmp, uri, client, exp_id = prepare(backend)
    run_id = client.create_run(exp_id).info.run_id
    ts = int(time.time() * 1000)
    # pre-build the Metric objects so only logging is timed
    batches = []
    for b in range(n // batch):
        batches.append([
            Metric(f"m{(b * batch + j) % keys}", float(j), ts, b * batch + j) for j in range(batch)
        ])
    t0 = time.perf_counter()
    for ms in batches:
        client.log_batch(run_id, metrics=ms)
    dt = time.perf_counter() - t0
    client.set_terminated(run_id)
    shutil.rmtree(tmp, ignore_errors=True)
    return dt


def bench_d(backend, n=1000):
    tmp, uri, client, exp_id = prepare(backend)
    mlflow.start_run(experiment_id=exp_id)
    t0 = time.perf_counter()
    for i in range(n):
        mlflow.log_param(f"p{i}", i)
    dt = time.perf_counter() - t0
    mlflow.end_run()
    shutil.rmtree(tmp, ignore_errors=True)
    return dt


def bench_d2(backend, n=1000):
    tmp, uri, client, exp_id = prepare(backend)
    mlflow.start_run(experiment_id=exp_id)
    params = {f"p{i}": i for i in range(n)}
    t0 = time.perf_counter()
    mlflow.log_params(params)
    dt = time.perf_counter() - t0
    mlflow.end_run()
    shutil.rmtree(tmp, ignore_errors=True)
    return dt


_SEARCH_CACHE = {}


def bench_g(backend, n_runs=1000):
    """Setup (not timed): 1000 runs each with 2 metrics, 2 params, 1 tag. Timed: search."""
    if backend not in _SEARCH_CACHE:
        tmp, uri, client, exp_id = prepare(backend)
        ts = int(time.time() * 1000)
        for i in range(n_runs):
            r = client.create_run(exp_id, run_name=f"r{i}", tags={"team": "a" if i % 2 else "b"})
            client.log_batch(
                r.info.run_id,
                metrics=[Metric("acc", (i % 100) / 100.0, ts, 0), Metric("loss", 1.0 / (i + 1), ts, 0)],
                params=[Param("opt", "adam" if i % 3 == 0 else "sgd"), Param("lr", str(i / 1000))],
            )
            client.set_terminated(r.info.run_id)
        _SEARCH_CACHE[backend] = (tmp, uri, exp_id)
    tmp, uri, exp_id = _SEARCH_CACHE[backend]
    mlflow.set_tracking_uri(uri)
    t0 = time.perf_counter()
    df = mlflow.search_runs(
        experiment_ids=[exp_id],
        filter_string="metrics.acc > 0.5 and params.opt = 'adam'",
        max_results=5000,
    )
    dt = time.perf_counter() - t0
    assert len(df) > 0, "search returned nothing"
    return dt


def bench_f():
    py = sys.executable
    subprocess.run([py, "-c", "import mlflow"], check=True, capture_output=True)  # warm .pyc/page cache
    t0 = time.perf_counter()
    subprocess.run([py, "-c", "import mlflow"], check=True, capture_output=True)
    return time.perf_counter() - t0


BENCHES = {
    "a": ("start+end 100 runs (fluent)", bench_a),
    "a2": ("create+terminate 100 runs (MlflowClient)", bench_a2),
    "b": ("10,000 x mlflow.log_metric", bench_b),
    "c": ("100,000 metrics via log_batch(1000)", bench_c),
    "d": ("1000 x mlflow.log_param", bench_d),
    "d2": ("1000 params via mlflow.log_params", bench_d2),
    "g": ("mlflow.search_runs over 1000 runs, filter", bench_g),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--backends", default="file,sqlite")
    ap.add_argument("--only", default="a,a2,b,c,d,d2,g,f")
    ap.add_argument("--json", default=None, help="write results as JSON to this path")
    args = ap.parse_args()
    only = args.only.split(",")
    results = []
    print(f"mlflow {mlflow.__version__}, python {sys.version.split()[0]}, cpus {os.cpu_count()}")
    for backend in args.backends.split(","):
        for key, (label, fn) in BENCHES.items():
            if key not in only:
                continue
            load_before = os.getloadavg()[0]
            times = [fn(backend) for _ in range(args.reps)]
            med = statistics.median(times)
            load_after = os.getloadavg()[0]
            results.append({"bench": key, "backend": backend, "label": label, "times_s": times, "median_s": med,
                            "loadavg1_before": load_before, "loadavg1_after": load_after})
            print(f"[{backend:6}] {key:3} {label:45} median {med:8.3f} s   runs {[round(t, 3) for t in times]}"
                  f"   load1 {load_before:.1f}->{load_after:.1f}", flush=True)
    for backend, (tmp, _, _) in _SEARCH_CACHE.items():
        shutil.rmtree(tmp, ignore_errors=True)
    if "f" in only:
        times = [bench_f() for _ in range(args.reps)]
        med = statistics.median(times)
        results.append({"bench": "f", "backend": "-", "label": "python -c 'import mlflow'", "times_s": times, "median_s": med})
        print(f"[-     ] f   {'python -c import mlflow':45} median {med:8.3f} s   runs {[round(t, 3) for t in times]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"mlflow": mlflow.__version__, "python": sys.version.split()[0], "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
