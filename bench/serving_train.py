"""Fits scikit-learn's LogisticRegression on iris (columns renamed as bench/serving.sh's
requests name them), logs it with MLflow (`mlflow.sklearn.log_model`, with its signature) to
the SQLite store TRACKING_URI, and writes into WORKDIR: model_uri.txt (for `mlflow models
serve`), coef.json (the same coefficients, for examples/iris_serve.rs), body_1.json and
body_100.json (dataframe_split requests) and expected_100.json (sklearn's predictions).
With skl2onnx installed, also converts the model to ONNX (skl2onnx's defaults: a label and a
ZipMap of probabilities), logs that with `mlflow.onnx.log_model` (float columns, as
`infer_signature` writes them for a float32 frame) and writes its URI to onnx_model_uri.txt.

usage: serving_train.py TRACKING_URI WORKDIR
"""

import json
import os
import sys

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
tracking, work = sys.argv[1:3]
mlflow.set_tracking_uri(tracking)
iris = load_iris()
X = pd.DataFrame(iris.data, columns=COLS)
clf = LogisticRegression(max_iter=1000, random_state=0).fit(X, iris.target)
with mlflow.start_run():
    info = mlflow.sklearn.log_model(clf, name="model", signature=infer_signature(X, clf.predict(X)))


def write(name, obj):
    with open(os.path.join(work, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))


open(os.path.join(work, "model_uri.txt"), "w").write(info.model_uri + "\n")
write(
    "coef.json",
    {
        "coef": clf.coef_.tolist(),
        "intercept": clf.intercept_.tolist(),
        "classes": [int(c) for c in clf.classes_],
    },
)
try:
    import skl2onnx
    from skl2onnx.common.data_types import FloatTensorType
except ImportError:
    skl2onnx = None
if skl2onnx is not None:
    import mlflow.onnx

    onx = skl2onnx.convert_sklearn(clf, initial_types=[("float_input", FloatTensorType([None, 4]))])
    X32 = X.astype(np.float32)
    with mlflow.start_run():
        onnx_info = mlflow.onnx.log_model(onx, name="model", signature=infer_signature(X32))
    open(os.path.join(work, "onnx_model_uri.txt"), "w").write(onnx_info.model_uri + "\n")

idx = np.random.default_rng(42).permutation(len(X))[:100]
rows = X.iloc[idx]
write("body_1.json", {"dataframe_split": {"columns": COLS, "data": [[5.1, 3.5, 1.4, 0.2]]}})
write("body_100.json", {"dataframe_split": {"columns": COLS, "data": rows.values.tolist()}})
write("expected_100.json", [int(p) for p in clf.predict(rows)])
