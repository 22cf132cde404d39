"""Logs a scikit-learn LinearRegression with the house-prices columns of
examples/train_register.rs (area double, rooms long, "age (years)" double) and prints its
models:/ URI: the reference model `mlflow models serve` answers with in serving.sh."""

import sys

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression

mlflow.set_tracking_uri(sys.argv[1])
rng = np.random.default_rng(0)
X = pd.DataFrame(
    {
        "area": rng.uniform(30, 200, 200),
        "rooms": rng.integers(1, 7, 200).astype("int64"),
        "age (years)": rng.uniform(0, 80, 200),
    }
)
y = 3000 * X["area"] + 5000 * X["rooms"] - 400 * X["age (years)"]
model = LinearRegression().fit(X, y)
with mlflow.start_run():
    info = mlflow.sklearn.log_model(
        model, name="model", signature=infer_signature(X, model.predict(X))
    )
print(info.model_uri)
