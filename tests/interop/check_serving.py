"""Checks `oxflow serve` against MLflow's own scoring client and against `mlflow models serve`.

usage: check_serving.py OXFLOW_URL MLFLOW_URL TRACKING_URI

OXFLOW_URL serves models:/house-prices@champion (examples/train_register.rs, columns area,
rooms, "age (years)"); MLFLOW_URL is `mlflow models serve` on a scikit-learn model with the same
columns and types. Every request below goes to both; a well-formed one must be answered 200 by
both, a malformed one with the same status, error_code, error_class and sqlstate, and the key
phrase of MLflow's message must be in oxflow's.
"""

import json
import sys
from urllib.parse import urlparse

import mlflow
import pandas as pd
import requests
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

OX, ML, TRACKING = sys.argv[1:4]
failures = []


def check(label, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + label + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(label)


# 1. The model's own serving_input_example.json, fetched by models:/ URI.
mlflow.set_tracking_uri(TRACKING)
model_dir = mlflow.artifacts.download_artifacts("models:/house-prices@champion")
example = open(f"{model_dir}/serving_input_example.json").read()
rows = len(json.loads(example)["dataframe_split"]["data"])
r = requests.post(f"{OX}/invocations", data=example, headers={"Content-Type": "application/json"})
check(
    "serving_input_example.json is scored",
    r.status_code == 200 and len(r.json()["predictions"]) == rows,
    r.text,
)

# 2. MLflow's own scoring client, with a DataFrame, and with params.
u = urlparse(OX)
client = ScoringServerClient(u.hostname, u.port)
client.wait_server_ready(timeout=10)
df = pd.DataFrame({"area": [75.0, 100.0], "rooms": [3, 4], "age (years)": [20.0, 1.0]})
preds = client.invoke(df).get_predictions()
check(
    "ScoringServerClient.invoke(DataFrame)",
    list(preds.columns) == ["price"] and len(preds) == 2 and preds["price"][1] > preds["price"][0],
    repr(preds),
)
with_params = client.invoke(df, params={"unused": 1}).get_predictions()
check("ScoringServerClient.invoke(params=...)", with_params.equals(preds), repr(with_params))
check("GET /version answers", requests.get(f"{OX}/version").status_code == 200)

# 3. The same requests to both servers.
JSON = "application/json"
good = [
    (JSON, {"dataframe_split": {"columns": ["area", "rooms", "age (years)"], "data": [[75, 3, 20]]}}),
    (JSON, {"dataframe_records": [{"area": 75, "rooms": 3, "age (years)": 20.5}]}),
    (JSON, {"instances": [{"area": 75.0, "rooms": 3, "age (years)": 20, "extra": "x"}]}),
    (JSON, {"inputs": {"area": [75.0], "rooms": [3], "age (years)": [20.0]}, "params": {"a": 1}}),
    ("application/json; charset=utf-8", {"inputs": {"area": [1], "rooms": [1], "age (years)": [1]}}),
    ("text/csv", "area,rooms,age (years)\n75,3,20\n100.5,4,1\n"),
]
bad = [
    ("text/plain", "{}"),
    ("application/json; format=pandas-split", "{}"),
    ("application/json; charset=latin-1", "{}"),
    ("application/x-www-form-urlencoded", "a=1"),
    (JSON, "{bad json"),
    (JSON, ""),
    (JSON, "[1, 2]"),
    (JSON, "42"),
    (JSON, {"foo": 1}),
    (JSON, {"inputs": {"area": [1]}, "instances": []}),
    (JSON, {"dataframe_records": [{"area": 75}]}),
    (JSON, {"dataframe_records": []}),
    (JSON, {"dataframe_records": [{"area": "abc", "rooms": 3, "age (years)": 20}]}),
    (JSON, {"dataframe_split": {"columns": ["area"], "data": [[1, 2]]}}),
    ("text/csv", "area\n75\n"),
    ("text/csv", "area,rooms,age (years)\nabc,3,20\n"),
]
PHRASES = [
    "Model is missing inputs",
    "Failed to convert column area to type 'float64'",
    "Received a list",
    "Received dictionary with input fields",
    "Ensure that input is a valid JSON formatted string",
    "Unrecognized content type parameters: format",
    "only supports UTF-8",
    "This predictor only supports the following content types",
    "Failed to parse input as a Pandas DataFrame",
]


def post(base, ct, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(f"{base}/invocations", data=data.encode(), headers={"Content-Type": ct})


def error_fields(r):
    if not r.headers.get("content-type", "").startswith(JSON) or r.status_code == 200:
        return (r.status_code, None, None, None)
    e = r.json()
    return (r.status_code, e.get("error_code"), e.get("error_class"), e.get("sqlstate"))


for ct, body in good:
    a, b = post(OX, ct, body), post(ML, ct, body)
    check(f"accepted by both: {ct} {str(body)[:60]}", a.status_code == b.status_code == 200, f"oxflow {a.status_code} {a.text[:300]} / mlflow {b.status_code} {b.text[:300]}")
agree = 0
for ct, body in bad:
    a, b = post(OX, ct, body), post(ML, ct, body)
    same = error_fields(a) == error_fields(b)
    phrases = [p for p in PHRASES if p in b.text]
    missing = [p for p in phrases if p not in a.text]
    ok = same and not missing and a.status_code >= 400
    agree += ok
    check(
        f"refused alike: {ct} {str(body)[:60]}",
        ok,
        f"oxflow {error_fields(a)} {a.text[:300]!r} / mlflow {error_fields(b)} {b.text[:300]!r}; phrases missing: {missing}",
    )
for path, method in [("/nope", "get"), ("/invocations", "get")]:
    a, b = getattr(requests, method)(OX + path), getattr(requests, method)(ML + path)
    check(f"{method.upper()} {path}: {a.status_code} {a.text}", (a.status_code, a.text) == (b.status_code, b.text), f"mlflow {b.status_code} {b.text}")

print(f"malformed requests refused alike: {agree}/{len(bad)}")
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
