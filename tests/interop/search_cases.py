"""MLflow's search as the reference for oxflow's (tests/interop/mlflow_search.sh).

`write <tracking uri> <out.json>`: with the MLflow client, writes ~20 runs (params, metrics with
NaN, inf and missing values, tags, statuses, a deleted run, dataset inputs with and without a
context) into the store, then runs every search case below through MlflowClient.search_runs and
writes, per case, whether MLflow accepted it and the run ids it returned, in order.

`read-inputs <tracking uri> <expected.json>`: checks that the MLflow client reads back the dataset
inputs oxflow wrote (run.inputs.dataset_inputs), field by field.
"""

import json
import math
import sys

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag

T0 = 1_700_000_000_000


def dataset(name, digest, source_type="local", schema=None, profile=None):
    return Dataset(
        name=name,
        digest=digest,
        source_type=source_type,
        source=json.dumps({"uri": f"/data/{name}.csv"}),
        schema=schema,
        profile=profile,
    )


def inputs_of(i):
    """Dataset inputs (dataset, context) of run i."""
    if i % 4 == 0:
        out = [(dataset("train", "d0"), "training"), (dataset("eval", "e0"), "evaluation")]
        if i % 8 == 0:
            out.append((dataset("current", "c8", profile='{"num_rows": 8}'), "drift"))
        return out
    if i % 4 == 1:
        return [(dataset("train", "d1", schema='{"mlflow_colspec": []}'), "training")]
    if i % 4 == 2:
        return [(dataset("Reference", "r1"), None)]
    return []


def write_runs(client, exp):
    ids = []
    for i in range(20):
        name = f"Special-{i}" if i % 5 == 0 else f"r{i:02d}"
        run = client.create_run(exp, start_time=T0 + (i // 2) * 1000, run_name=name)
        rid = run.info.run_id
        ids.append(rid)
        params = {"lr": ["0.1", "0.01", "0.001"][i % 3], "model": "tree" if i < 10 else "Forest"}
        if i % 4 != 0:
            params["opt"] = "adam" if i % 2 else "sgd"
        for k, v in params.items():
            client.log_param(rid, k, v)
        # acc: logged twice, the latest (step 1) counts; NaN, inf and missing on some runs.
        if i % 6 != 5:
            acc = i / 20
            if i % 7 == 3:
                acc = math.nan
            if i == 19:
                acc = math.inf
            client.log_metric(rid, "acc", 0.99, timestamp=T0, step=0)
            client.log_metric(rid, "acc", acc, timestamp=T0 + 1, step=1)
        if i % 3 != 0:
            client.log_metric(rid, "loss", 1 - i / 20 if i != 4 else math.nan, timestamp=T0, step=0)
        client.log_metric(rid, "neg", -i, timestamp=T0, step=0)
        team = ["vision", "nlp", "Vision"][i % 3]
        if i % 4 != 1:
            client.set_tag(rid, "team", team)
        if i % 5 == 2:
            client.set_tag(rid, "note", "Été chaud")
        dis = [DatasetInput(d, [InputTag("mlflow.data.context", c)] if c else []) for d, c in inputs_of(i)]
        if dis:
            client.log_inputs(rid, datasets=dis)
        if i % 3 == 0:
            client.set_terminated(rid, "FINISHED", end_time=T0 + 100_000 + i)
        elif i % 3 == 1:
            client.set_terminated(rid, "FAILED", end_time=T0 + 200_000 - i)
    client.delete_run(ids[17])
    return ids


def cases(ids):
    filters = [
        "",
        "metrics.acc > 0.5",
        "metrics.acc >= 0.5",
        "metrics.acc < 0.3",
        "metrics.acc <= 0.3",
        "metrics.acc = 0.5",
        "metrics.acc != 0.5",
        "metrics.acc > -1e10",
        "metrics.loss > 0.5",
        "metrics.loss != 0.5",
        "metrics.neg < -10",
        "metrics.neg = -3",
        "metrics.missing < 1",
        "metrics.`acc` > 0.5",
        "params.lr = '0.01'",
        "params.lr != '0.01'",
        'params."lr" = \'0.1\'',
        "params.opt LIKE 'a%'",
        "params.opt ILIKE 'A%'",
        "params.opt IS NULL",
        "params.opt IS NOT NULL",
        "params.model LIKE 'f%'",
        "params.model ILIKE 'f%'",
        "params.model = 'tree' and params.lr = '0.1'",
        "tags.team = 'vision'",
        "tags.team != 'vision'",
        "tags.team ILIKE 'vision'",
        "tags.team LIKE 'V%'",
        "tags.team IS NULL",
        "tags.team IS NOT NULL",
        "tags.note = 'Été chaud'",
        "tags.note ILIKE '%CHAUD'",
        # Non-ASCII case folding: MLflow's SQLite store lowers ASCII only (SQLite's lower()).
        "tags.note ILIKE 'été%'",
        "tags.`mlflow.runName` LIKE 'r0%'",
        "attributes.status = 'FINISHED'",
        "status != 'RUNNING'",
        "attributes.status = 'FAILED' and metrics.acc > 0.2",
        "attributes.run_name LIKE 'r1%'",
        "run_name ILIKE 'special%'",
        "`Run name` = 'r01'",
        "attributes.start_time > 1700000003000",
        "created >= 1700000005000",
        "attributes.end_time > 0",
        "attributes.end_time < 1700000150000",
        "attributes.user_id = 'nobody'",
        f"attributes.run_id IN ('{ids[1]}', '{ids[4]}', '{ids[17]}')",
        f"attributes.run_id NOT IN ('{ids[0]}')",
        f"attributes.run_id = '{ids[5]}'",
        "dataset.name = 'train'",
        "dataset.name != 'train'",
        "dataset.digest = 'd1'",
        "dataset.digest IN ('d0', 'r1')",
        "dataset.digest NOT IN ('d0')",
        "dataset.context = 'training'",
        "dataset.context != 'training'",
        "dataset.context LIKE 'eval%'",
        "dataset.context ILIKE 'TRAIN%'",
        "dataset.context IN ('drift', 'evaluation')",
        "dataset.name LIKE 'R%'",
        "dataset.name ILIKE 'r%'",
        "datasets.name = 'train' AND datasets.context = 'evaluation'",
        "dataset.name = 'current' and dataset.digest = 'd0'",
        "dataset.name = 'train' and metrics.acc > 0.3",
        "dataset.context = 'training' and params.lr = '0.1' and tags.team IS NOT NULL",
        "metrics.acc > 0.2 and metrics.loss < 0.9 and params.model = 'tree'",
        # The same key twice, and a missing key beside a present one.
        "metrics.acc > 0.2 and metrics.acc < 0.9",
        "metrics.acc != 0.5 and metrics.acc >= 0",
        "params.lr != '0.1' and params.lr != '0.01'",
        "tags.team IS NOT NULL and tags.team != 'vision' and tags.team LIKE '%'",
        "params.opt IS NULL and metrics.acc > 0.2",
        "tags.team IS NULL and params.lr IS NOT NULL",
    ]
    orders = [
        ["metrics.acc"],
        ["metrics.acc DESC"],
        ["metrics.loss ASC"],
        ["metrics.loss DESC"],
        ["metrics.neg"],
        ["metrics.missing DESC"],
        ["params.lr"],
        ["params.lr DESC", "metrics.acc"],
        ["params.opt"],
        ["params.opt DESC"],
        ["tags.team"],
        ["tags.team DESC"],
        ["tags.`mlflow.runName`"],
        ["attributes.start_time"],
        ["start_time DESC"],
        ["run_name"],
        ["attributes.run_name DESC"],
        ["status"],
        ["end_time"],
        ["end_time DESC"],
        ["attributes.run_id"],
        ["metrics.acc DESC", "params.lr ASC"],
        ["params.model", "metrics.acc DESC"],
        ["metrics.`acc` DESC"],
    ]
    out = [(f, []) for f in filters]
    out += [("", o) for o in orders]
    for f in filters[1:60:4]:
        out.append((f, ["metrics.acc DESC"]))
        out.append((f, ["params.lr", "run_name DESC"]))
    bad_filters = [
        "metrics.acc > 'a'",
        "params.lr > '0.1'",
        "params.lr = 0.1",
        "metrics.acc IS NULL",
        "metrics.acc LIKE '%'",
        "tags.team IN ('vision')",
        "attributes.status IN ('FINISHED')",
        "dataset.name > 'a'",
        "dataset.source = 'x'",
        "dataset.name IS NULL",
        "dataset.name = 1",
        "foo.bar = 'x'",
        "metrics.acc > 0.5 OR metrics.acc < 0.1",
        "(metrics.acc > 0.5)",
        "metrics.acc > 0.5 AND",
        "params.lr RLIKE '0.*'",
        "attributes.unknown = 'x'",
        "metrics.acc >> 1",
        "params.lr = '0.1' params.opt = 'adam'",
        "attributes.start_time > 'x'",
    ]
    out += [(f, []) for f in bad_filters]
    bad_orders = [
        ["metrics.acc DOWN"],
        [" metrics.acc"],
        ["metrics.acc "],
        ["dataset.name"],
        ["foo.bar"],
        ["metrics.acc ASC DESC"],
    ]
    out += [("", o) for o in bad_orders]
    return out


def write(uri, out_path):
    client = MlflowClient(uri)
    exp = client.create_experiment("search-interop")
    ids = write_runs(client, exp)
    results = []
    for f, o in cases(ids):
        try:
            runs = client.search_runs([exp], filter_string=f, order_by=o, max_results=1000)
            results.append({"filter": f, "order_by": o, "accepted": True, "run_ids": [r.info.run_id for r in runs]})
        except Exception as e:  # MlflowException: a rejected filter
            results.append({"filter": f, "order_by": o, "accepted": False, "error": str(e)[:300]})
    names = {r.info.run_id: r.info.run_name for r in client.search_runs([exp], run_view_type=3, max_results=1000)}
    with open(out_path, "w") as fh:
        json.dump({"experiment_id": exp, "run_names": names, "cases": results}, fh, indent=1)
    print(f"mlflow: {len(results)} cases, {sum(r['accepted'] for r in results)} accepted")


def read_inputs(uri, expected_path):
    client = MlflowClient(uri)
    with open(expected_path) as fh:
        expected = json.load(fh)
    bad = 0
    for run_id, want in expected.items():
        got = []
        for di in client.get_run(run_id).inputs.dataset_inputs:
            d = di.dataset
            got.append(
                {
                    "name": d.name,
                    "digest": d.digest,
                    "source_type": d.source_type,
                    "source": d.source,
                    "schema": d.schema,
                    "profile": d.profile,
                    "tags": {t.key: t.value for t in di.tags},
                }
            )
        got.sort(key=lambda x: (x["name"], x["digest"]))
        if got != want:
            bad += 1
            print(f"run {run_id}: mlflow read {got}, oxflow wrote {want}")
    print(f"mlflow read the dataset inputs of {len(expected) - bad}/{len(expected)} runs as oxflow wrote them")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    cmd, uri, path = sys.argv[1:4]
    {"write": write, "read-inputs": read_inputs}[cmd](uri, path)
