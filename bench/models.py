"""Models benchmark, the MLflow side of bench/models.sh: on a fresh SQLite store (MLflow's
default), log a small scikit-learn LogisticRegression (iris) with its signature and input
example and register it, 100 times in one run; then load it by alias and predict one row,
LOADS times. Writes {"log_register_100_s", "load_predict_s", "loads"} to JSON_OUT.

usage: models.py WORKDIR JSON_OUT [LOADS]
"""

import json
import logging
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

work, out = sys.argv[1:3]
loads = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
mlflow.set_tracking_uri(f"sqlite:///{os.path.join(work, 'mlflow.db')}")
COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
iris = load_iris()
X = pd.DataFrame(iris.data, columns=COLS)
clf = LogisticRegression(max_iter=1000, random_state=0).fit(X, iris.target)
sig = infer_signature(X, clf.predict(X))
row = X.head(1)
client = mlflow.MlflowClient()

t = time.perf_counter()
with mlflow.start_run():
    for _ in range(100):
        info = mlflow.sklearn.log_model(clf, name="model", signature=sig, input_example=row)
        version = mlflow.register_model(info.model_uri, "iris").version
log_s = time.perf_counter() - t
client.set_registered_model_alias("iris", "champion", version)

t = time.perf_counter()
for _ in range(loads):
    m = mlflow.pyfunc.load_model("models:/iris@champion")
    assert int(m.predict(row)[0]) == 0
load_s = time.perf_counter() - t
print(f"log + register 100 models: {log_s * 1e3:.1f} ms; load by alias + predict, {loads} times: {load_s * 1e3:.1f} ms")
json.dump({"log_register_100_s": log_s, "load_predict_s": load_s, "loads": loads}, open(out, "w"))
