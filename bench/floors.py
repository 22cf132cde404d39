"""What the disk and SQLite alone cost for two of the tracking targets, with no oxflow code.

1. A stored task output is an MLflow artifact, `<run>/artifacts/xcom/return_value.json`: three
   new directories and one new file per task. This times exactly those file-system calls for
   1,000 outputs, from 1 and 4 threads, in BENCH_DIR (default /tmp): the floor under the
   executor's per-task record cost in a chain, where each task stores an output.
2. Workload c (100,000 metrics by batch of 1,000) in MLflow's schema: this times only the
   INSERTs of the metric rows, 100 transactions, with Python's sqlite3 `executemany` into the
   schema oxflow embeds (runtime/src/tracking/sql/schema.sql), in WAL mode, synchronous=NORMAL.

Run: .ci/venv-mlflow/bin/python bench/floors.py (or any python3). Prints figures, asserts nothing.
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

BASE = os.environ.get("BENCH_DIR", "/tmp")
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime", "src", "tracking", "sql", "schema.sql")


def outputs(threads: int) -> float:
    d = tempfile.mkdtemp(dir=BASE)
    try:
        os.makedirs(f"{d}/mlruns/1")

        def one(i: int) -> None:
            run = f"{d}/mlruns/1/{i:032x}"
            os.mkdir(run)
            os.mkdir(f"{run}/artifacts")
            os.mkdir(f"{run}/artifacts/xcom")
            with open(f"{run}/artifacts/xcom/.tmp", "w") as f:
                f.write("{}")
            os.rename(f"{run}/artifacts/xcom/.tmp", f"{run}/artifacts/xcom/return_value.json")

        t = time.perf_counter()
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(one, range(1000)))
        return time.perf_counter() - t
    finally:
        shutil.rmtree(d)


def metric_inserts() -> float:
    d = tempfile.mkdtemp(dir=BASE)
    try:
        c = sqlite3.connect(f"{d}/mlflow.db", isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.executescript(open(SCHEMA).read())
        c.execute("INSERT INTO experiments (name, lifecycle_stage, workspace) VALUES ('e', 'active', 'default')")
        run = uuid.uuid4().hex
        c.execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
            "start_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
            "VALUES (?, 'r', 'UNKNOWN', '', '', 'u', 'RUNNING', 0, '', 'active', '', 1)",
            (run,),
        )
        rows = [(f"m{i % 10}", float(i), 1_700_000_000_000 + i, run, i // 10, 0) for i in range(100_000)]
        t = time.perf_counter()
        for b in range(100):
            c.execute("BEGIN IMMEDIATE")
            c.executemany(
                "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
                rows[b * 1000:(b + 1) * 1000],
            )
            c.execute("COMMIT")
        took = time.perf_counter() - t
        c.close()
        return took
    finally:
        shutil.rmtree(d)


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"stores in {BASE}, load average {os.getloadavg()[0]:.2f}")
    for threads in (1, 4):
        times = sorted(outputs(threads) for _ in range(reps))
        print(f"one stored output's files (3 mkdir, create, rename), {threads} thread(s): "
              f"{times[len(times) // 2] * 1000:.0f} us per output (median of {reps}: {[round(t * 1000) for t in times]} ms per 1,000)")
    times = sorted(metric_inserts() for _ in range(reps))
    print(f"100,000 metric rows, INSERTs alone in MLflow's schema: {times[len(times) // 2] * 1000:.0f} ms "
          f"(median of {reps}: {[round(t * 1000) for t in times]} ms)")


if __name__ == "__main__":
    main()
