"""The Python side of tests/interop/mlflow_onnx.sh: logs ONNX models with `mlflow.onnx`, scores
models the way `mlflow models serve` does (its own request parsing, `mlflow.pyfunc.load_model`
with onnxruntime, its own response serialization), and compares two responses to 1e-5.

usage:
  check_onnx.py log <tracking uri> <model.onnx> tensor|columns <request out>  -> prints model id
  check_onnx.py score <tracking uri> <model uri> <request> <response out>
  check_onnx.py compare <what> <expected response> <oxflow response>
"""

import io
import json
import sys

import numpy as np
import pandas as pd

COLUMNS = ["sl", "sw", "pl", "pw"]
# Iris rows across the three classes, and one off the training data.
ROWS = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5], [6.3, 2.8, 5.1, 1.5], [6.0, 2.9, 4.8, 1.7]]


def log(uri, path, kind, request_out):
    import mlflow
    import mlflow.onnx
    import onnx
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("onnx-interop")
    if kind == "tensor":
        example = np.array(ROWS, dtype=np.float32)
        request = {"inputs": ROWS}
    else:
        example = pd.DataFrame(ROWS, columns=COLUMNS)
        request = {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
    with mlflow.start_run():
        info = mlflow.onnx.log_model(onnx.load(path), name="model", signature=infer_signature(example), input_example=example[:2])
    with open(request_out, "w") as f:
        json.dump(request, f)
    print(info.model_id)


def score(uri, model_uri, request, out):
    import mlflow
    from mlflow.pyfunc import scoring_server

    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(model_uri)
    flavors = model.metadata.flavors
    assert flavors["python_function"]["loader_module"] == "mlflow.onnx", flavors
    with open(request) as f:
        body = f.read()
    parsed = scoring_server._parse_json_data(body, model.metadata, model.metadata.get_input_schema())
    raw = model.predict(parsed.data, params=parsed.params)
    buf = io.StringIO()
    scoring_server.predictions_to_json(raw, buf)
    with open(out, "w") as f:
        f.write(buf.getvalue())


def max_difference(path, want, got):
    """The largest numeric difference; raises on any structural difference or unequal label."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or sorted(want) != sorted(got):
            raise ValueError(f"{path}: keys {sorted(want)} != {got if not isinstance(got, dict) else sorted(got)}")
        return max([0.0] + [max_difference(f"{path}.{k}", want[k], got[k]) for k in want])
    if isinstance(want, list):
        if not isinstance(got, list) or len(want) != len(got):
            raise ValueError(f"{path}: {want!r} != {got!r}")
        return max([0.0] + [max_difference(f"{path}[{i}]", w, g) for i, (w, g) in enumerate(zip(want, got))])
    if isinstance(want, bool) or isinstance(want, str) or isinstance(want, int) and isinstance(got, int):
        if want != got:
            raise ValueError(f"{path}: {want!r} != {got!r}")
        return 0.0
    return abs(float(want) - float(got))


def compare(what, expected, actual):
    with open(expected) as f:
        want = json.load(f)
    with open(actual) as f:
        got = json.load(f)
    try:
        diff = max_difference("response", want, got)
    except ValueError as e:
        print(f"FAIL {what}: {e}")
        sys.exit(1)
    status = "ok" if diff <= 1e-5 else "FAIL"
    print(f"{status} {what}: max abs difference {diff:.3g}")
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"log": log, "score": score, "compare": compare}[cmd](*args)
