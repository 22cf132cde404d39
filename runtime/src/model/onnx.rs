//! MLflow's own `onnx` flavor, run by [tract](https://github.com/sonos/tract), a pure-Rust ONNX
//! runtime: [`OnnxModel`] loads a `model.onnx` that `mlflow.onnx.log_model` (or oxflow) logged
//! and scores MLflow scoring requests; [`save_onnx_model`] and [`Run::log_onnx_model`] write the
//! layout `mlflow.onnx.save_model` writes, so `mlflow.pyfunc.load_model` (with onnxruntime)
//! loads what oxflow logged.
//!
//! Why tract and not onnxruntime: tract builds from crates.io alone and needs no native library
//! at run time. It lacks some ONNX-ML ops that scikit-learn converters emit, and gets one
//! wrong, so a model is checked against [`SUPPORTED_OPS`] when it is loaded and refused with an
//! error naming the op, never scored with silently wrong results. Four repairs make the common
//! skl2onnx models run (each is a plain graph edit before tract sees the model):
//!
//! - `ZipMap` (skl2onnx's default probability output, a list of maps, which tract cannot hold)
//!   is removed and its maps rebuilt from the probability tensor after the run;
//! - `Scaler` (from `StandardScaler`), which tract does not implement, is registered as
//!   `(x - offset) * scale`;
//! - a binary `TreeEnsembleClassifier` with one `base_values` entry (gradient boosting) gets
//!   the second entry tract requires (0, which leaves the scores as onnxruntime computes them);
//! - a binary `TreeEnsembleClassifier`'s label, which tract takes from the raw scores before
//!   it builds the `[1 - p, p]` pair (so every row gets the first class), is recomputed from
//!   the probabilities.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{self, NodeProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::{
    Expansion, InferenceOp, InferenceResult, Solver, StaticName, TensorProxy, check_input_arity,
    check_output_arity, expand,
};

use self::frame::{Cell, Element, FlatSplit, Frame};
use self::output::{Cells, Out, Records, Response, Tensors, ZipKeys, key_order};
use super::ModelError;
use super::enforce::{TensorInput, TensorRequest, check_tensor_shape};
use super::flavor::{self, Example, MlModel, ModelDir, SaveTarget};
use super::predict::{DynModel, ModelTypeInfo};
use super::schema::{ColSpec, ColType, DataType, Signature};
use crate::tracking::meta::Py;
use crate::tracking::{LoggedModel, Run};

/// The flavor name MLflow gives ONNX models in `MLmodel`.
pub const ONNX_FLAVOR: &str = "onnx";
/// The model file of the `onnx` flavor.
pub const ONNX_DATA_FILE: &str = "model.onnx";

/// The ONNX op types oxflow runs. The ONNX-ML ops are the ones the test corpus checks against
/// onnxruntime (linear and tree classifiers, linear regression, scaling, normalization); the
/// standard ops are tract's core numeric ops, which it tests against the ONNX backend suite.
/// `ZipMap` and `Scaler` are handled by oxflow (see the module docs). Anything else, such as
/// `TreeEnsembleRegressor`, `SVMClassifier` or `OneHotEncoder`, is refused at load.
pub const SUPPORTED_OPS: &[&str] = &[
    // ONNX-ML
    "LinearClassifier",
    "LinearRegressor",
    "Normalizer",
    "TreeEnsembleClassifier",
    "Scaler",
    "ZipMap",
    "ArrayFeatureExtractor",
    // standard ONNX
    "Abs",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Div",
    "Equal",
    "Exp",
    "Flatten",
    "Gather",
    "Gemm",
    "Greater",
    "Identity",
    "Less",
    "Log",
    "MatMul",
    "Max",
    "Min",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "Pow",
    "Reciprocal",
    "ReduceMax",
    "ReduceMean",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Where",
];

/// The newest opset of each domain oxflow accepts: the ones tract implements (ONNX-ML 5
/// replaced the tree ops by `TreeEnsemble`, which tract lacks, but a model declaring it may
/// still use only older ops, so ops are checked one by one).
const MAX_OPSETS: [(&str, i64); 2] = [("ai.onnx", 22), ("ai.onnx.ml", 5)];

fn file_err(file: &str, reason: impl Into<String>) -> ModelError {
    ModelError::File {
        file: file.to_string(),
        reason: reason.into(),
    }
}

fn tract_err(file: &str, what: &str, e: TractError) -> ModelError {
    ModelError::Onnx {
        file: file.to_string(),
        what: what.to_string(),
        source: e.into(),
    }
}

/// Runs tract code, turning its error or its panic into an error naming `file`. tract asserts
/// (panics) on some inconsistent graphs, such as a matrix product whose coefficient count does
/// not match its input, where a corrupt file must give an error. (Out-of-range tree indices,
/// which tract does not check at all, are refused before it sees them: `check_tree_ensemble`.)
fn guarded<T>(file: &str, what: &str, f: impl FnOnce() -> TractResult<T>) -> Result<T, ModelError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| tract_err(file, what, e)),
        Err(panic) => Err(ModelError::Onnx {
            file: file.to_string(),
            what: format!("{what}: the ONNX runtime stopped on an inconsistent graph"),
            source: crate::task::panic_message(panic).into(),
        }),
    }
}

/// One graph input: its name, element type and the dimensions after the batch.
#[derive(Clone, Debug)]
struct Input {
    name: String,
    dt: DatumType,
    /// Dimensions after the first (the batch); all fixed.
    inner: Vec<usize>,
}

impl Input {
    fn width(&self) -> usize {
        self.inner.iter().product()
    }
    /// The shape MLflow would write for it, `-1` for the batch.
    fn shape(&self) -> Vec<i64> {
        std::iter::once(-1)
            .chain(self.inner.iter().map(|&d| d as i64))
            .collect()
    }
}

/// What happens to a graph output after the run.
#[derive(Clone, Debug)]
enum Post {
    Plain,
    /// A removed `ZipMap`: each row of the probability tensor becomes a map from these class
    /// labels (JSON object keys) to probabilities.
    ZipMap(ZipKeys),
    /// A binary tree classifier's label: recomputed from the probabilities output at this
    /// index, choosing between these two labels.
    BinaryLabel {
        probabilities: usize,
        classes: [Value; 2],
    },
}

#[derive(Clone, Debug)]
struct Output {
    name: String,
    post: Post,
}

/// An ONNX model loaded from MLflow's `onnx` flavor, ready to score: what [`AnyModel`]
/// (super::AnyModel) holds for such a model and a scoring server serves.
///
/// ```no_run
/// use oxflow_runtime::model::{DynModel, OnnxModel};
/// let bytes = std::fs::read("model.onnx")?;
/// let model = OnnxModel::from_bytes("model.onnx", &bytes, None)?;
/// let out = model.predict_json(&serde_json::json!({"inputs": [[5.1, 3.5, 1.4, 0.2]]}))?;
/// println!("{out}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OnnxModel {
    file: String,
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    /// The outputs in the order a response writes their names (sorted).
    output_order: Vec<usize>,
    signature: Option<Signature>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("file", &self.file)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

/// The `Scaler` op of ONNX-ML (`StandardScaler`, `MinMaxScaler`), which tract does not
/// implement: `(x - offset) * scale`, with per-feature or single `offset` and `scale`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Scaler {
    offset: Arc<Tensor>,
    scale: Arc<Tensor>,
}

fn scaler(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset: Vec<f32> = node
        .get_attr_opt_vec("offset")?
        .unwrap_or_else(|| vec![0.0]);
    let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_else(|| vec![1.0]);
    let row = |v: &[f32]| -> TractResult<Arc<Tensor>> {
        Ok(tensor1(v).into_shape(&[1, v.len()])?.into_arc_tensor())
    };
    Ok((
        expand(Scaler {
            offset: row(&offset)?,
            scale: row(&scale)?,
        }),
        vec![],
    ))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        use tract_onnx::tract_core::ops;
        let mut x = inputs[0];
        if model.outlet_fact(x)?.datum_type != f32::datum_type() {
            x = model.wire_node(
                format!("{prefix}.to_f32"),
                ops::cast::cast(f32::datum_type()),
                &[x],
            )?[0];
        }
        let offset = model.add_const(format!("{prefix}.offset"), self.offset.clone())?;
        let scale = model.add_const(format!("{prefix}.scale"), self.scale.clone())?;
        let centred = model.wire_node(format!("{prefix}.sub"), ops::math::sub(), &[x, offset])?;
        model.wire_node(
            format!("{prefix}.mul"),
            ops::math::mul(),
            &[centred[0], scale],
        )
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The class labels of a classifier node (`classlabels_int64s` or `classlabels_strings`), as
/// JSON values.
fn class_labels(node: &NodeProto) -> Vec<Value> {
    if let Some(a) = attr(node, "classlabels_int64s").filter(|a| !a.ints.is_empty()) {
        return a.ints.iter().map(|&i| Value::from(i)).collect();
    }
    attr(node, "classlabels_strings")
        .map(|a| {
            a.strings
                .iter()
                .map(|s| Value::String(String::from_utf8_lossy(s).into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Follows `name` forward through single-input pass-through nodes (`Identity`, `Cast`) to the
/// graph outputs it reaches.
fn passthrough_outputs(graph: &pb::GraphProto, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut frontier = vec![name.to_string()];
    while let Some(n) = frontier.pop() {
        if graph.output.iter().any(|o| o.name == n) {
            found.push(n.clone());
        }
        for node in &graph.node {
            if node.input.first() == Some(&n)
                && matches!(node.op_type.as_str(), "Identity" | "Cast")
            {
                frontier.extend(node.output.iter().cloned());
            }
        }
    }
    found
}

/// Checks the parts of a decoded model a partial (truncated) or foreign file lacks: a graph,
/// its inputs and outputs, every node input defined before use.
fn check_graph(file: &str, proto: &pb::ModelProto) -> Result<(), ModelError> {
    let graph = proto.graph.as_ref().ok_or_else(|| {
        file_err(
            file,
            "holds no ONNX graph: it is truncated or not an ONNX model",
        )
    })?;
    if graph.output.is_empty() || graph.node.is_empty() {
        return Err(file_err(
            file,
            "has a graph without nodes or outputs: it is truncated or not an ONNX model",
        ));
    }
    for (domain, version) in proto
        .opset_import
        .iter()
        .map(|o| (o.domain.as_str(), o.version))
    {
        let domain = if domain.is_empty() { "ai.onnx" } else { domain };
        match MAX_OPSETS.iter().find(|(d, _)| *d == domain) {
            None => {
                return Err(file_err(
                    file,
                    format!(
                        "imports the op domain `{domain}`, which oxflow does not run (it runs ai.onnx and ai.onnx.ml)"
                    ),
                ));
            }
            Some((_, max)) if version > *max => {
                return Err(file_err(
                    file,
                    format!("imports {domain} opset {version}, newer than the {max} oxflow runs"),
                ));
            }
            Some(_) => {}
        }
    }
    let imported: HashSet<&str> = proto
        .opset_import
        .iter()
        .map(|o| {
            if o.domain.is_empty() {
                "ai.onnx"
            } else {
                o.domain.as_str()
            }
        })
        .collect();
    if let Some(node) = graph.node.iter().find(|n| {
        let d = if n.domain.is_empty() {
            "ai.onnx"
        } else {
            n.domain.as_str()
        };
        !imported.contains(d)
    }) {
        return Err(file_err(
            file,
            format!(
                "has node `{}` of domain `{}`, which the model imports no opset of: the file is truncated or corrupt",
                node.name,
                if node.domain.is_empty() {
                    "ai.onnx"
                } else {
                    &node.domain
                }
            ),
        ));
    }
    if let Some(t) = graph
        .initializer
        .iter()
        .find(|t| t.data_location == Some(1))
    {
        return Err(file_err(
            file,
            format!(
                "keeps initializer `{}` in an external data file; save the model as one file (`mlflow.onnx.log_model(..., save_as_external_data=False)`)",
                t.name
            ),
        ));
    }
    let mut defined: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    defined.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        if !SUPPORTED_OPS.contains(&node.op_type.as_str()) {
            return Err(file_err(
                file,
                format!(
                    "uses the op `{}` (node `{}`), which oxflow's ONNX runtime (tract) does not support; supported ops: {}",
                    node.op_type,
                    node.name,
                    SUPPORTED_OPS.join(", ")
                ),
            ));
        }
        // The repairs read these ops' inputs and outputs by position.
        let arity = match node.op_type.as_str() {
            "ZipMap" => Some((1, 1)),
            "TreeEnsembleClassifier" => Some((1, 2)),
            _ => None,
        };
        if let Some((ins, outs)) =
            arity.filter(|&(i, o)| node.input.len() != i || node.output.len() != o)
        {
            return Err(file_err(
                file,
                format!(
                    "has a `{}` node `{}` with {} inputs and {} outputs; it takes {ins} and gives {outs}",
                    node.op_type,
                    node.name,
                    node.input.len(),
                    node.output.len()
                ),
            ));
        }
        if node.op_type == "TreeEnsembleClassifier" {
            check_tree_ensemble(node).map_err(|reason| {
                file_err(
                    file,
                    format!(
                        "has a malformed TreeEnsembleClassifier `{}`: {reason}",
                        node.name
                    ),
                )
            })?;
        }
        if let Some(missing) = node
            .input
            .iter()
            .find(|i| !i.is_empty() && !defined.contains(i.as_str()))
        {
            return Err(file_err(
                file,
                format!(
                    "node `{}` reads `{missing}`, which nothing defines: the file is truncated or corrupt",
                    node.name
                ),
            ));
        }
        defined.extend(node.output.iter().map(String::as_str));
    }
    if let Some(o) = graph
        .output
        .iter()
        .find(|o| !defined.contains(o.name.as_str()))
    {
        return Err(file_err(
            file,
            format!(
                "has graph output `{}`, which no node produces: the file is truncated or corrupt",
                o.name
            ),
        ));
    }
    Ok(())
}

/// Checks what tract's tree evaluation takes for granted: it indexes nodes, leaves and
/// classes without bounds checks (out-of-range ids are undefined behaviour, not an error) and
/// walks from the root until it meets a leaf (a cycle never ends). So: the node ids of each
/// tree are 0..k, every branch's children are nodes of its tree with larger ids (as
/// scikit-learn numbers them, which rules out cycles), every class entry names a leaf, and
/// every class id is below the number of class labels.
fn check_tree_ensemble(node: &NodeProto) -> Result<(), String> {
    let ints = |name: &str| attr(node, name).map(|a| a.ints.clone()).unwrap_or_default();
    let (tree_ids, node_ids) = (ints("nodes_treeids"), ints("nodes_nodeids"));
    let (true_ids, false_ids) = (ints("nodes_truenodeids"), ints("nodes_falsenodeids"));
    let modes: Vec<Vec<u8>> = attr(node, "nodes_modes")
        .map(|a| a.strings.clone())
        .unwrap_or_default();
    let n = node_ids.len();
    if n == 0
        || [tree_ids.len(), true_ids.len(), false_ids.len(), modes.len()]
            .iter()
            .any(|&len| len != n)
    {
        return Err(format!(
            "its node attributes differ in length (nodes_nodeids has {n})"
        ));
    }
    // (tree, node) → whether it is a leaf; and each tree's node count.
    let mut kinds: BTreeMap<(i64, i64), bool> = BTreeMap::new();
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for k in 0..n {
        if kinds
            .insert((tree_ids[k], node_ids[k]), modes[k] == b"LEAF")
            .is_some()
        {
            return Err(format!(
                "tree {} has node {} twice",
                tree_ids[k], node_ids[k]
            ));
        }
        *counts.entry(tree_ids[k]).or_default() += 1;
    }
    for k in 0..n {
        let (tree, id) = (tree_ids[k], node_ids[k]);
        if id < 0 || id >= counts[&tree] {
            return Err(format!(
                "tree {tree} has {} nodes but a node id {id}; ids must be 0 to {}",
                counts[&tree],
                counts[&tree] - 1
            ));
        }
        if modes[k] != b"LEAF" {
            for child in [true_ids[k], false_ids[k]] {
                if child <= id || child >= counts[&tree] {
                    return Err(format!(
                        "node {id} of tree {tree} branches to node {child}; a child must be a later node of the same tree"
                    ));
                }
            }
        }
    }
    let n_classes = class_labels(node).len() as i64;
    let (class_trees, class_nodes, class_ids) = (
        ints("class_treeids"),
        ints("class_nodeids"),
        ints("class_ids"),
    );
    if class_ids.is_empty()
        || class_trees.len() != class_ids.len()
        || class_nodes.len() != class_ids.len()
    {
        return Err("its class attributes are empty or differ in length".into());
    }
    for ((tree, id), class) in class_trees.iter().zip(&class_nodes).zip(&class_ids) {
        if kinds.get(&(*tree, *id)) != Some(&true) {
            return Err(format!(
                "a class weight names node {id} of tree {tree}, which is not a leaf"
            ));
        }
        if *class < 0 || *class >= n_classes {
            return Err(format!(
                "a leaf votes for class {class}, but there are {n_classes} class labels"
            ));
        }
    }
    Ok(())
}

/// The repairs of the module docs that edit the graph: removes `ZipMap` nodes and pads binary
/// tree `base_values`; returns what to do with each graph output afterwards.
fn repair(graph: &mut pb::GraphProto) -> Vec<Output> {
    let mut posts: BTreeMap<String, Post> = BTreeMap::new();
    let zipmaps: Vec<NodeProto> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "ZipMap")
        .cloned()
        .collect();
    for z in &zipmaps {
        let labels: Vec<String> = class_labels(z)
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect();
        // The graph output keeps its name; it now carries the probability tensor.
        for node in graph.node.iter_mut() {
            for o in node.output.iter_mut().filter(|o| **o == z.input[0]) {
                o.clone_from(&z.output[0]);
            }
            for i in node.input.iter_mut().filter(|i| **i == z.input[0]) {
                i.clone_from(&z.output[0]);
            }
        }
        for o in graph.output.iter_mut().filter(|o| o.name == z.output[0]) {
            o.r#type = None;
        }
        posts.insert(z.output[0].clone(), Post::ZipMap(ZipKeys::new(labels)));
    }
    graph.node.retain(|n| n.op_type != "ZipMap");
    let mut label_fixes = Vec::new();
    for node in graph
        .node
        .iter_mut()
        .filter(|n| n.op_type == "TreeEnsembleClassifier")
    {
        let classes = class_labels(node);
        let [c0, c1] = &classes[..] else { continue };
        for a in node
            .attribute
            .iter_mut()
            .filter(|a| a.name == "base_values" && a.floats.len() == 1)
        {
            a.floats.push(0.0);
        }
        label_fixes.push((
            node.output[0].clone(),
            node.output.get(1).cloned().unwrap_or_default(),
            [c0.clone(), c1.clone()],
        ));
    }
    let names: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    for (label, probabilities, classes) in label_fixes {
        let prob_outputs = passthrough_outputs(graph, &probabilities);
        let Some(p) = prob_outputs
            .first()
            .and_then(|p| names.iter().position(|n| n == p))
        else {
            continue;
        };
        for l in passthrough_outputs(graph, &label) {
            posts.insert(
                l,
                Post::BinaryLabel {
                    probabilities: p,
                    classes: classes.clone(),
                },
            );
        }
    }
    names
        .into_iter()
        .map(|name| Output {
            post: posts.remove(&name).unwrap_or(Post::Plain),
            name,
        })
        .collect()
}

fn datum_type(file: &str, input: &str, elem: i32) -> Result<DatumType, ModelError> {
    use pb::tensor_proto::DataType as D;
    match D::try_from(elem) {
        Ok(D::Float) => Ok(DatumType::F32),
        Ok(D::Double) => Ok(DatumType::F64),
        Ok(D::Int64) => Ok(DatumType::I64),
        Ok(D::Int32) => Ok(DatumType::I32),
        other => Err(file_err(
            file,
            format!(
                "has input `{input}` of element type {other:?}; oxflow feeds float, double, int32 and int64 tensors"
            ),
        )),
    }
}

/// The numpy dtype name MLflow writes for a tract datum type.
fn numpy_name(dt: DatumType) -> &'static str {
    match dt {
        DatumType::F32 => "float32",
        DatumType::F64 => "float64",
        DatumType::I32 => "int32",
        _ => "int64",
    }
}

fn graph_inputs(file: &str, graph: &pb::GraphProto) -> Result<Vec<Input>, ModelError> {
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    graph
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
        .map(|i| {
            let Some(pb::type_proto::Value::TensorType(t)) =
                i.r#type.as_ref().and_then(|t| t.value.as_ref())
            else {
                return Err(file_err(
                    file,
                    format!("has input `{}`, which is not a tensor", i.name),
                ));
            };
            let dt = datum_type(file, &i.name, t.elem_type)?;
            let dims = t.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or(&[]);
            let inner = dims
                .iter()
                .skip(1)
                .map(|d| match d.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => {
                        Ok(v as usize)
                    }
                    _ => Err(file_err(
                        file,
                        format!(
                            "has input `{}` with a variable dimension after the batch; oxflow needs them fixed",
                            i.name
                        ),
                    )),
                })
                .collect::<Result<Vec<usize>, ModelError>>()?;
            if dims.is_empty() {
                return Err(file_err(
                    file,
                    format!("has input `{}` without a shape", i.name),
                ));
            }
            Ok(Input {
                name: i.name.clone(),
                dt,
                inner,
            })
        })
        .collect()
}

/// The signature's input side must describe the graph's inputs: tensors of the same count,
/// element types and shapes, or columns that fill them.
fn check_signature(file: &str, sig: &Signature, inputs: &[Input]) -> Result<(), ModelError> {
    let differs = |difference: String| ModelError::SignatureMismatch {
        file: file.to_string(),
        difference,
    };
    if sig.inputs.is_empty() {
        return Ok(());
    }
    if sig.inputs[0].ty.is_tensor() {
        if sig.inputs.len() != inputs.len() {
            return Err(differs(format!(
                "the signature has {} input tensors but the ONNX graph {} ({})",
                sig.inputs.len(),
                inputs.len(),
                inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for (spec, input) in sig.inputs.iter().zip(inputs) {
            let ColType::Tensor { dtype, shape } = &spec.ty else {
                continue;
            };
            if dtype != numpy_name(input.dt) {
                return Err(differs(format!(
                    "input tensor `{}` is {dtype} in the signature but {} in the ONNX graph",
                    spec.display_name(),
                    numpy_name(input.dt)
                )));
            }
            let graph_shape = input.shape();
            let fits = shape.len() == graph_shape.len()
                && shape
                    .iter()
                    .zip(&graph_shape)
                    .skip(1)
                    .all(|(s, g)| *s == -1 || s == g);
            if !fits {
                return Err(differs(format!(
                    "input tensor `{}` has shape {shape:?} in the signature but {graph_shape:?} in the ONNX graph",
                    spec.display_name()
                )));
            }
        }
        return Ok(());
    }
    for c in &sig.inputs {
        let ColType::Scalar(t) = &c.ty else {
            return Err(differs(format!(
                "input column `{}` is {}; the onnx flavor feeds scalar numeric columns",
                c.display_name(),
                c.ty
            )));
        };
        if matches!(t, DataType::Str | DataType::Binary | DataType::Datetime) {
            return Err(differs(format!(
                "input column `{}` is {t}; the onnx flavor feeds numeric and boolean columns",
                c.display_name()
            )));
        }
    }
    match inputs {
        [one] => {
            if sig.inputs.len() != one.width() {
                return Err(differs(format!(
                    "the signature has {} input columns but the ONNX input `{}` takes {} features per row",
                    sig.inputs.len(),
                    one.name,
                    one.width()
                )));
            }
        }
        many => {
            for i in many {
                if i.width() != 1 {
                    return Err(differs(format!(
                        "the ONNX input `{}` takes {} features per row; with several inputs each must take one column",
                        i.name,
                        i.width()
                    )));
                }
                if !sig
                    .inputs
                    .iter()
                    .any(|c| c.name.as_deref() == Some(&i.name))
                {
                    return Err(differs(format!(
                        "the ONNX input `{}` has no column of that name in the signature",
                        i.name
                    )));
                }
            }
        }
    }
    Ok(())
}

impl OnnxModel {
    /// Loads an ONNX model from its bytes. `file` names it in errors; `signature` (from
    /// `MLmodel`) is checked against the graph's inputs and used for schema enforcement.
    /// Refuses a truncated or corrupt file, an op outside [`SUPPORTED_OPS`], an unknown op
    /// domain or a too new opset, and a signature that does not fit the graph.
    pub fn from_bytes(
        file: &str,
        bytes: &[u8],
        signature: Option<Signature>,
    ) -> Result<OnnxModel, ModelError> {
        let mut onnx = tract_onnx::onnx();
        onnx.op_register.insert("Scaler", scaler);
        let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| {
            tract_err(
                file,
                "is not a readable ONNX model (truncated or corrupt?)",
                e,
            )
        })?;
        check_graph(file, &proto)?;
        let Some(graph) = proto.graph.as_mut() else {
            return Err(file_err(file, "holds no ONNX graph"));
        };
        let inputs = graph_inputs(file, graph)?;
        if let Some(sig) = &signature {
            check_signature(file, sig, &inputs)?;
        }
        let outputs = repair(graph);
        let plan = guarded(file, "cannot be prepared to run by tract", || {
            let mut model = onnx.model_for_proto_model(&proto)?;
            // skl2onnx leaves the batch dimension unnamed; tract needs it as a symbol.
            let batch = model.symbols.sym("N").to_dim();
            for (i, input) in inputs.iter().enumerate() {
                let shape: TVec<TDim> = std::iter::once(batch.clone())
                    .chain(input.inner.iter().map(|&d| d.to_dim()))
                    .collect();
                model = model.with_input_fact(i, input.dt.fact(shape).into())?;
            }
            let mut model = model.into_optimized()?;
            short_rows::shorten(&mut model)?;
            model.into_runnable()
        });
        // Optimizing folds constants with tract's kernels, on this thread.
        upper_state::clear();
        let plan = plan?;
        let output_order = key_order(&outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>());
        Ok(OnnxModel {
            file: file.to_string(),
            plan,
            inputs,
            outputs,
            output_order,
            signature,
        })
    }

    /// Loads `model.onnx` and the signature from a model directory in the `onnx` flavor.
    ///
    /// ```no_run
    /// let model = oxflow_runtime::model::OnnxModel::load_dir("mlruns/1/models/m-0123/artifacts".as_ref())?;
    /// # Ok::<(), oxflow_runtime::model::ModelError>(())
    /// ```
    pub fn load_dir(dir: &Path) -> Result<OnnxModel, ModelError> {
        let origin = dir.display().to_string();
        let mut read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| file_err(&format!("{origin}/{name}"), format!("cannot be read: {e}")))
        };
        let mlmodel = flavor::read_mlmodel(&origin, &mut read)?;
        OnnxModel::from_mlmodel(&origin, &mlmodel, &mut read)
    }

    /// Loads the model an `MLmodel` with an `onnx` flavor describes; `read` gives a file of
    /// the model directory.
    pub(crate) fn from_mlmodel(
        origin: &str,
        mlmodel: &MlModel,
        read: &mut dyn FnMut(&str) -> Result<Vec<u8>, ModelError>,
    ) -> Result<OnnxModel, ModelError> {
        let mlmodel_file = format!("{origin}/{}", flavor::MLMODEL_FILE);
        let entry = mlmodel.flavor_entry(ONNX_FLAVOR).ok_or_else(|| {
            file_err(
                &mlmodel_file,
                format!(
                    "has no `{ONNX_FLAVOR}` flavor (its flavors: {})",
                    mlmodel.flavors.join(", ")
                ),
            )
        })?;
        if let Some(version) = entry
            .get("onnx_version")
            .and_then(Value::as_str)
            .filter(|v| !v.starts_with("1."))
        {
            return Err(file_err(
                &mlmodel_file,
                format!("has `onnx_version: {version}`; oxflow reads models of ONNX 1.x"),
            ));
        }
        let data = entry
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| file_err(&mlmodel_file, "the `onnx` flavor has no `data` file"))?;
        crate::tracking::validation::artifact_segments(data)
            .map_err(|e| file_err(&mlmodel_file, format!("the `onnx` flavor's `data`: {e}")))?;
        let bytes = read(data)?;
        OnnxModel::from_bytes(
            &format!("{origin}/{data}"),
            &bytes,
            mlmodel.signature.clone(),
        )
    }

    /// The graph's input names, in order.
    pub fn input_names(&self) -> Vec<&str> {
        self.inputs.iter().map(|i| i.name.as_str()).collect()
    }

    /// The graph's output names, in order (a removed `ZipMap`'s output keeps its name).
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|o| o.name.as_str()).collect()
    }

    /// Whether a request is scored as MLflow scores a DataFrame (columns in, one record per row
    /// out) rather than a tensor: with a column signature always, with a tensor signature never,
    /// and without a signature for `dataframe_split`/`dataframe_records`.
    fn frame_mode(&self, body: &Value) -> bool {
        match self.signature.as_ref().and_then(|s| s.inputs.first()) {
            Some(c) => !c.ty.is_tensor(),
            None => ["dataframe_split", "dataframe_records"]
                .iter()
                .any(|k| body.get(k).is_some()),
        }
    }

    /// The input tensors from a DataFrame request: columns in the signature's order fill a
    /// single input; with several inputs, each takes the column of its name.
    fn frame_inputs(&self, body: &Value) -> Result<(usize, TVec<TValue>), ModelError> {
        let derived: Vec<ColSpec>;
        let cols: &[ColSpec] = match &self.signature {
            Some(sig) if !sig.inputs.is_empty() => &sig.inputs,
            _ if self.inputs.len() > 1 => {
                derived = self
                    .inputs
                    .iter()
                    .map(|i| ColSpec::new(i.name.clone(), ColType::Scalar(DataType::Double), true))
                    .collect();
                &derived
            }
            _ => return self.split_inputs(body),
        };
        self.frame_tensors(&Frame::parse(body)?, cols)
    }

    /// The input tensors from a DataFrame's rows and the columns to read.
    fn frame_tensors(
        &self,
        frame: &Frame<'_>,
        cols: &[ColSpec],
    ) -> Result<(usize, TVec<TValue>), ModelError> {
        frame.check_columns(cols)?;
        let n = frame.len();
        let mut columns: BTreeMap<&str, Vec<Cell>> = BTreeMap::new();
        for c in cols {
            columns.insert(c.display_name(), frame.column(c)?);
        }
        let tensors = if let [one] = &self.inputs[..] {
            // Row-major: each row's columns in the signature's order.
            let by_position: Vec<&[Cell]> = cols
                .iter()
                .map(|c| &columns[c.display_name()][..])
                .collect();
            let cells: Vec<Cell> = (0..n)
                .flat_map(|i| by_position.iter().map(move |c| c[i]))
                .collect();
            tvec!(self.tensor(one, &[n, one.width()], &cells)?)
        } else {
            self.inputs
                .iter()
                .map(|input| {
                    let mut shape = vec![n];
                    shape.extend(&input.inner);
                    self.tensor(input, &shape, &columns[input.name.as_str()])
                })
                .collect::<Result<TVec<TValue>, ModelError>>()?
        };
        Ok((n, tensors))
    }

    /// Without a signature, a `dataframe_split` body's rows are the single input's rows, in
    /// the body's column order (MLflow feeds `DataFrame.values`).
    fn split_inputs(&self, body: &Value) -> Result<(usize, TVec<TValue>), ModelError> {
        let Some(split) = body.get("dataframe_split") else {
            return Err(ModelError::BadRequest {
                reason: format!(
                    "`{}` has no signature, so the order of record fields is unknown: send `dataframe_split` or `inputs`",
                    self.file
                ),
            });
        };
        let data = split.get("data").cloned().unwrap_or(Value::Null);
        let input = &self.inputs[0];
        let (shape, leaves) = flatten(&input.name, &data)?;
        check_tensor_shape(&input.name, &shape, &input.shape())?;
        Ok((shape[0], tvec!(self.tensor(input, &shape, &leaves)?)))
    }

    /// The input tensors from a tensor request (`inputs`/`instances` as a nested list, or an
    /// object of input name to nested list; or `dataframe_split` rows).
    fn tensor_inputs(&self, body: &Value) -> Result<(usize, TVec<TValue>), ModelError> {
        let request = TensorRequest::parse(body)?;
        let specs: Vec<(String, Vec<i64>)> = match &self.signature {
            Some(sig) if !sig.inputs.is_empty() => sig
                .inputs
                .iter()
                .zip(&self.inputs)
                .map(|(c, i)| match &c.ty {
                    ColType::Tensor { shape, .. } => (
                        c.name.clone().unwrap_or_else(|| i.name.clone()),
                        shape.clone(),
                    ),
                    _ => (i.name.clone(), i.shape()),
                })
                .collect(),
            _ => self
                .inputs
                .iter()
                .map(|i| (i.name.clone(), i.shape()))
                .collect(),
        };
        let mut n = 0;
        let mut tensors = TVec::new();
        for (k, ((name, expected), input)) in specs.iter().zip(&self.inputs).enumerate() {
            let value = match &request.input {
                TensorInput::Unnamed(v) if self.inputs.len() == 1 => v,
                TensorInput::Unnamed(_) => {
                    return Err(ModelError::BadRequest {
                        reason: format!(
                            "`{}` has {} inputs ({}); send `inputs` as an object of input name to values",
                            self.file,
                            self.inputs.len(),
                            self.input_names().join(", ")
                        ),
                    });
                }
                TensorInput::Named(map) => map
                    .get(name)
                    .or_else(|| map.get(&input.name))
                    .ok_or_else(|| ModelError::MissingInputs {
                        columns: vec![name.clone()],
                    })?,
            };
            let (shape, leaves) = flatten(name, value)?;
            check_tensor_shape(name, &shape, expected)?;
            if k == 0 {
                n = shape.first().copied().unwrap_or(0);
            }
            tensors.push(self.tensor(input, &shape, &leaves)?);
        }
        Ok((n, tensors))
    }

    /// A tensor of `input`'s element type from JSON numbers or frame cells.
    fn tensor<E: Element>(
        &self,
        input: &Input,
        shape: &[usize],
        values: &[E],
    ) -> Result<TValue, ModelError> {
        let bad = |i: usize, v: &E, what: &str| ModelError::Value {
            column: input.name.clone(),
            ty: numpy_name(input.dt).to_string(),
            row: i / shape.iter().skip(1).product::<usize>().max(1),
            reason: format!("{} is not {what}", v.json()),
        };
        let float_of = |i: usize, v: &E| v.as_float().ok_or_else(|| bad(i, v, "a number"));
        let int_of = |i: usize, v: &E| v.as_int().ok_or_else(|| bad(i, v, "an integer"));
        let tensor = match input.dt {
            DatumType::F32 => typed(shape, values, |i, v| float_of(i, v).map(|x| x as f32))?,
            DatumType::F64 => typed(shape, values, float_of)?,
            DatumType::I32 => typed(shape, values, |i, v| {
                int_of(i, v)
                    .and_then(|x| i32::try_from(x).map_err(|_| bad(i, v, "a 32-bit integer")))
            })?,
            _ => typed(shape, values, int_of)?,
        };
        tensor
            .map(TValue::from)
            .map_err(|e| tract_err(&self.file, &format!("input `{}`", input.name), e))
    }

    /// Runs the graph and applies the output repairs.
    fn run(&self, inputs: TVec<TValue>) -> Result<Vec<Out<'_>>, ModelError> {
        let results = guarded(&self.file, "failed to run", || self.plan.run(inputs));
        upper_state::clear();
        let results = results?;
        let mut outs = results
            .iter()
            .zip(&self.outputs)
            .map(|(t, o)| {
                Ok(Out {
                    shape: t.shape().to_vec(),
                    cells: Cells::from_tensor(t)?,
                    zip: match &o.post {
                        Post::ZipMap(keys) => Some(keys),
                        _ => None,
                    },
                })
            })
            .collect::<TractResult<Vec<Out<'_>>>>()
            .map_err(|e| tract_err(&self.file, "returned an output oxflow cannot read", e))?;
        for (k, o) in self.outputs.iter().enumerate() {
            if let Post::BinaryLabel {
                probabilities,
                classes,
            } = &o.post
            {
                let p = &outs[*probabilities].cells;
                let pairs = outs[*probabilities].len().div_ceil(2);
                let labels: Vec<Value> = (0..pairs)
                    .map(|r| {
                        if p.number(2 * r + 1) > p.number(2 * r) {
                            classes[1].clone()
                        } else {
                            classes[0].clone()
                        }
                    })
                    .collect();
                outs[k] = Out {
                    shape: vec![labels.len()],
                    cells: Cells::Json(labels),
                    zip: None,
                };
            }
        }
        Ok(outs)
    }

    /// Scores a request and serializes `{"predictions": ...}` with `serializer`: a DataFrame
    /// request (column signature, or `dataframe_*` without one) gives one record per row; a
    /// tensor request gives `{"output name": nested list}`.
    ///
    /// Deliberate difference: for a DataFrame, MLflow builds the records from each output
    /// flattened to one dimension, so an output with several values per row (the
    /// probabilities of a classifier without `ZipMap`) fails there with pandas' "All arrays
    /// must be of the same length". oxflow gives each row its values as a list instead, e.g.
    /// `{"label": 1, "probabilities": [0.2, 0.8]}`.
    fn predict_with<S: serde::Serializer>(
        &self,
        body: &Value,
        serializer: S,
    ) -> Result<S::Ok, ModelError>
    where
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let frame = self.frame_mode(body);
        let (n, inputs) = if frame {
            self.frame_inputs(body)?
        } else {
            self.tensor_inputs(body)?
        };
        self.write_predictions(frame, n, inputs, serializer)
    }

    /// Runs the graph on `inputs` (`n` rows) and serializes `{"predictions": ...}`: records
    /// for a DataFrame request (`frame`), else output name to nested list.
    fn write_predictions<S: serde::Serializer>(
        &self,
        frame: bool,
        n: usize,
        inputs: TVec<TValue>,
        serializer: S,
    ) -> Result<S::Ok, ModelError>
    where
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let outs = self.run(inputs)?;
        let names: Vec<&str> = self.outputs.iter().map(|o| o.name.as_str()).collect();
        let written = if frame {
            let records = Records::new(n, &names, &outs, &self.output_order)?;
            Response(records).serialize(serializer)
        } else {
            // MLflow's wrapper returns a dict of output name to array for a tensor input.
            let tensors = Tensors {
                names: &names,
                outs: &outs,
                shapes: outs.iter().map(Out::shape).collect(),
                order: &self.output_order,
            };
            Response(tensors).serialize(serializer)
        };
        written.map_err(|e| ModelError::Predict { source: e.into() })
    }

    fn predict_value(&self, body: &Value) -> Result<Value, ModelError> {
        self.predict_with(body, serde_json::value::Serializer)
    }
}

/// A tensor of `T` from JSON values or frame cells, each converted by `convert` (given its
/// flat index).
fn typed<T: Datum + Copy, E>(
    shape: &[usize],
    values: &[E],
    convert: impl Fn(usize, &E) -> Result<T, ModelError>,
) -> Result<TractResult<Tensor>, ModelError> {
    let v = values
        .iter()
        .enumerate()
        .map(|(i, v)| convert(i, v))
        .collect::<Result<Vec<T>, ModelError>>()?;
    Ok(Tensor::from_shape(shape, &v))
}

/// A nested JSON list's shape and leaves; an error names the input if it is ragged.
fn flatten(name: &str, value: &Value) -> Result<(Vec<usize>, Vec<Value>), ModelError> {
    fn shape_of(v: &Value) -> Vec<usize> {
        match v {
            Value::Array(items) => {
                let mut s = vec![items.len()];
                if let Some(first) = items.first() {
                    s.extend(shape_of(first));
                }
                s
            }
            _ => Vec::new(),
        }
    }
    fn walk(v: &Value, shape: &[usize], out: &mut Vec<Value>) -> bool {
        match (v, shape) {
            (Value::Array(items), [n, rest @ ..]) => {
                items.len() == *n && items.iter().all(|i| walk(i, rest, out))
            }
            (Value::Array(_), []) => false,
            (_, []) => {
                out.push(v.clone());
                true
            }
            (_, _) => false,
        }
    }
    let shape = shape_of(value);
    let mut leaves = Vec::new();
    if !walk(value, &shape, &mut leaves) {
        return Err(ModelError::BadRequest {
            reason: format!(
                "input `{name}` is a ragged nested list; a tensor needs equal lengths at every level"
            ),
        });
    }
    Ok((shape, leaves))
}

impl DynModel for OnnxModel {
    fn model_signature(&self) -> Signature {
        self.signature.clone().unwrap_or_else(|| Signature {
            inputs: self
                .inputs
                .iter()
                .map(|i| ColSpec {
                    name: Some(i.name.clone()),
                    ty: ColType::Tensor {
                        dtype: numpy_name(i.dt).to_string(),
                        shape: i.shape(),
                    },
                    required: true,
                })
                .collect(),
            outputs: Vec::new(),
        })
    }

    fn model_type_info(&self) -> ModelTypeInfo {
        ModelTypeInfo {
            name: ONNX_FLAVOR,
            type_path: "oxflow_runtime::model::OnnxModel",
            crate_name: "oxflow-runtime",
            crate_version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Scores a request as `mlflow models serve` scores an ONNX model: a DataFrame request
    /// (column signature, or `dataframe_*` without one) gives one record per row; a tensor
    /// request gives `{"output name": nested list}`.
    fn predict_json(&self, body: &Value) -> Result<Value, ModelError> {
        self.predict_value(body)
    }

    /// [`DynModel::predict_json`] written straight to JSON text, without a `Value` per cell.
    fn predict_json_bytes(&self, body: &Value) -> Result<Vec<u8>, ModelError> {
        let mut out = Vec::with_capacity(256);
        self.predict_with(body, &mut serde_json::Serializer::new(&mut out))?;
        Ok(out)
    }

    /// With a column signature, a `dataframe_split` of numbers, booleans and nulls is parsed
    /// from its bytes straight into one buffer of cells ([`FlatSplit`]) and scored as the
    /// same body through [`DynModel::predict_json_bytes`] would be.
    fn score_json_bytes(&self, body: &[u8]) -> Option<Result<(Vec<u8>, usize), ModelError>> {
        let cols = match self.signature.as_ref() {
            Some(sig) if sig.inputs.first().is_some_and(|c| !c.ty.is_tensor()) => &sig.inputs,
            _ => return None,
        };
        let split = FlatSplit::parse(body)?;
        let scored = self
            .frame_tensors(&split.frame(), cols)
            .and_then(|(n, inputs)| {
                let mut out = Vec::with_capacity(256);
                self.write_predictions(
                    true,
                    n,
                    inputs,
                    &mut serde_json::Serializer::new(&mut out),
                )?;
                Ok((out, n))
            });
        Some(scored)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Versions written into the Python environment of a saved ONNX model: the ones oxflow's
/// interoperability checks load it with (`mlflow.pyfunc.load_model` + onnxruntime).
const MLFLOW_VERSION: &str = "3.17.2";
const ONNX_VERSION: &str = "1.23.2";
const ONNXRUNTIME_VERSION: &str = "1.32.0";
const PYTHON_VERSION: &str = "3.11.7";
const PIP_VERSION: &str = "23.2.1";
/// onnxruntime's execution providers in MLflow's default order.
const PROVIDERS: [&str; 2] = ["CUDAExecutionProvider", "CPUExecutionProvider"];

#[derive(Serialize)]
struct OnnxFlavorOut<'a> {
    code: Option<()>,
    data: Py<'a>,
    onnx_session_options: Option<()>,
    onnx_version: Py<'a>,
    providers: [&'static str; 2],
}

#[derive(Serialize)]
struct PyEnvOut {
    conda: &'static str,
    virtualenv: &'static str,
}

#[derive(Serialize)]
struct PyFuncOut<'a> {
    data: Py<'a>,
    env: PyEnvOut,
    loader_module: &'static str,
    python_version: Py<'a>,
}

// Sorted keys, as MLflow writes them.
#[derive(Serialize)]
struct OnnxFlavorsOut<'a> {
    onnx: OnnxFlavorOut<'a>,
    python_function: PyFuncOut<'a>,
}

/// The environment files `mlflow.onnx.save_model` writes (MLflow 3.17.2, text as it writes
/// it): `requirements.txt`, `python_env.yaml`, `conda.yaml`.
fn environment_files() -> Vec<(&'static str, Vec<u8>)> {
    let pins = [
        format!("mlflow=={MLFLOW_VERSION}"),
        format!("onnx=={ONNX_VERSION}"),
        format!("onnxruntime=={ONNXRUNTIME_VERSION}"),
    ];
    let requirements = pins.join("\n");
    let python_env = format!(
        "python: {PYTHON_VERSION}\nbuild_dependencies:\n- pip=={PIP_VERSION}\n- setuptools==65.5.0\n- wheel\ndependencies:\n- -r requirements.txt\n"
    );
    let pip_list: String = pins.iter().map(|p| format!("  - {p}\n")).collect();
    let conda = format!(
        "channels:\n- conda-forge\ndependencies:\n- python={PYTHON_VERSION}\n- pip<={PIP_VERSION}\n- pip:\n{pip_list}name: mlflow-env\n"
    );
    vec![
        ("conda.yaml", conda.into_bytes()),
        ("python_env.yaml", python_env.into_bytes()),
        ("requirements.txt", requirements.into_bytes()),
    ]
}

/// An input example for an ONNX model: rows of named columns (for a column signature) or a
/// tensor (a nested list, for a tensor signature).
///
/// ```
/// use oxflow_runtime::model::OnnxExample;
/// let rows = OnnxExample::Columns {
///     columns: vec!["sepal_length".into(), "sepal_width".into()],
///     rows: vec![vec![5.1.into(), 3.5.into()]],
/// };
/// let tensor = OnnxExample::Tensor(serde_json::json!([[5.1, 3.5]]));
/// # let _ = (rows, tensor);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum OnnxExample {
    /// Named columns and rows of values, saved as a DataFrame (`dataframe_split`).
    Columns {
        /// The column names.
        columns: Vec<String>,
        /// The rows, one value per column.
        rows: Vec<Vec<Value>>,
    },
    /// A nested list, saved as a numpy array (`inputs`).
    Tensor(Value),
}

impl OnnxExample {
    fn into_example(self) -> Example {
        match self {
            OnnxExample::Columns { columns, rows } => {
                let mut m = Map::new();
                m.insert(
                    "columns".into(),
                    Value::Array(columns.into_iter().map(Value::String).collect()),
                );
                m.insert(
                    "data".into(),
                    Value::Array(rows.into_iter().map(Value::Array).collect()),
                );
                Example::Split(Value::Object(m))
            }
            OnnxExample::Tensor(v) => Example::Ndarray(v),
        }
    }
}

/// The files of a model in MLflow's `onnx` flavor, after checking that oxflow can load it
/// (ops, signature) and score its example.
fn onnx_files(
    onnx: &[u8],
    signature: &Signature,
    example: Option<OnnxExample>,
    target: &SaveTarget,
    origin: &str,
) -> Result<Vec<(&'static str, Vec<u8>)>, ModelError> {
    let model = OnnxModel::from_bytes(origin, onnx, Some(signature.clone()))?;
    let example = example.map(OnnxExample::into_example);
    if let Some(e) = &example {
        let body = match e {
            Example::Split(split) => serde_json::json!({ "dataframe_split": split }),
            Example::Ndarray(nd) => serde_json::json!({ "inputs": nd }),
        };
        model.predict_value(&body)?;
    }
    let flavors = OnnxFlavorsOut {
        onnx: OnnxFlavorOut {
            code: None,
            data: Py(ONNX_DATA_FILE),
            onnx_session_options: None,
            onnx_version: Py(ONNX_VERSION),
            providers: PROVIDERS,
        },
        python_function: PyFuncOut {
            data: Py(ONNX_DATA_FILE),
            env: PyEnvOut {
                conda: "conda.yaml",
                virtualenv: "python_env.yaml",
            },
            loader_module: "mlflow.onnx",
            python_version: Py(PYTHON_VERSION),
        },
    };
    Ok(ModelDir {
        flavors,
        data: vec![(ONNX_DATA_FILE, onnx.to_vec())],
        extra: environment_files(),
        signature,
        example,
        mlflow_version: Some(MLFLOW_VERSION),
        params: Vec::new(),
    }
    .files(target))
}

/// Saves an ONNX model (the bytes of a `.onnx` file) in MLflow's own `onnx` flavor under `dir`,
/// which must not exist yet: `model.onnx`, `MLmodel` with the `onnx` and `python_function`
/// flavors (so `mlflow.pyfunc.load_model` runs it with onnxruntime), the environment files
/// MLflow writes, the signature and the input example. The model is loaded first, so one that
/// oxflow cannot score, or whose signature does not fit its inputs, is refused.
///
/// ```no_run
/// use oxflow_runtime::model::{save_onnx_model, ColSpec, ColType, Signature};
/// let onnx = std::fs::read("iris.onnx")?;
/// let signature = Signature {
///     inputs: vec![ColSpec { name: Some("X".into()), ty: ColType::Tensor { dtype: "float32".into(), shape: vec![-1, 4] }, required: true }],
///     outputs: vec![],
/// };
/// save_onnx_model(&onnx, &signature, None, "target/iris-onnx".as_ref())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_onnx_model(
    onnx: &[u8],
    signature: &Signature,
    example: Option<OnnxExample>,
    dir: &Path,
) -> Result<(), ModelError> {
    flavor::write_model_dir(dir, |target| {
        onnx_files(
            onnx,
            signature,
            example,
            target,
            &dir.join(ONNX_DATA_FILE).display().to_string(),
        )
    })
}

impl Run {
    /// Logs an ONNX model (the bytes of a `.onnx` file) as an MLflow 3 LoggedModel named
    /// `name` in MLflow's own `onnx` flavor, as `mlflow.onnx.log_model` does; see
    /// [`save_onnx_model`] for the files and checks, and [`Run::log_model`] for the record.
    ///
    /// ```no_run
    /// # fn log(run: &mut oxflow_runtime::tracking::Run, sig: &oxflow_runtime::model::Signature) -> Result<(), oxflow_runtime::model::ModelError> {
    /// let onnx = std::fs::read("iris.onnx").expect("model file");
    /// let logged = run.log_onnx_model(&onnx, sig, None, "iris")?;
    /// println!("models:/{}", logged.model_id);
    /// # Ok(()) }
    /// ```
    pub fn log_onnx_model(
        &mut self,
        onnx: &[u8],
        signature: &Signature,
        example: Option<OnnxExample>,
        name: &str,
    ) -> Result<LoggedModel, ModelError> {
        self.log_model_files(name, |target| {
            onnx_files(
                onnx,
                signature,
                example,
                target,
                &format!("{name}/{ONNX_DATA_FILE}"),
            )
        })
    }
}

mod frame;
mod output;
mod short_rows;
#[cfg(test)]
mod tests;
mod upper_state;
