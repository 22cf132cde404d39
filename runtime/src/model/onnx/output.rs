//! The ONNX flavor's outputs after a run, and the response written from them: typed buffers
//! serialized straight into the JSON of `{"predictions": ...}`, with no `Value` per cell.
//!
//! What is written is what the flavor gave before as a `Value` tree (a `serde_json::Map`,
//! which keeps its keys sorted): record keys (output names) and `ZipMap` keys (class labels)
//! in sorted order, a repeated key keeping its last value, NaN and infinities as `null`.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use tract_onnx::prelude::*;

use crate::model::ModelError;

/// A removed `ZipMap`'s class labels as its maps are written: sorted, each with the column of
/// the probability row it reads (a repeated label keeps its last column, as a map insert does).
#[derive(Clone, Debug)]
pub(super) struct ZipKeys {
    /// Probabilities per row: the number of labels (at least 1).
    width: usize,
    keys: Vec<(String, usize)>,
}

impl ZipKeys {
    pub(super) fn new(labels: Vec<String>) -> ZipKeys {
        let width = labels.len().max(1);
        let sorted: BTreeMap<String, usize> = labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, i))
            .collect();
        ZipKeys {
            width,
            keys: sorted.into_iter().collect(),
        }
    }
}

/// An output's values, flattened, in the type tract gave them (floats widened to `f64`).
#[derive(Debug)]
pub(super) enum Cells {
    Str(Vec<String>),
    Bool(Vec<bool>),
    Float(Vec<f64>),
    Int(Vec<i64>),
    /// Values chosen per row from a classifier's labels (the binary tree label repair).
    Json(Vec<Value>),
}

impl Cells {
    pub(super) fn from_tensor(t: &Tensor) -> TractResult<Cells> {
        Ok(match t.datum_type() {
            DatumType::String => {
                Cells::Str(t.to_plain_array_view::<String>()?.iter().cloned().collect())
            }
            DatumType::Bool => {
                Cells::Bool(t.to_plain_array_view::<bool>()?.iter().copied().collect())
            }
            DatumType::F32 => Cells::Float(
                t.to_plain_array_view::<f32>()?
                    .iter()
                    .map(|&x| f64::from(x))
                    .collect(),
            ),
            DatumType::F64 => {
                Cells::Float(t.to_plain_array_view::<f64>()?.iter().copied().collect())
            }
            // Integers, and labels that tract types as TDim behind a Cast.
            _ => Cells::Int(
                t.cast_to::<i64>()?
                    .to_plain_array_view::<i64>()?
                    .iter()
                    .copied()
                    .collect(),
            ),
        })
    }

    fn len(&self) -> usize {
        match self {
            Cells::Str(v) => v.len(),
            Cells::Bool(v) => v.len(),
            Cells::Float(v) => v.len(),
            Cells::Int(v) => v.len(),
            Cells::Json(v) => v.len(),
        }
    }

    /// Cell `i` as a number, as `Value::as_f64` reads its JSON (NaN and infinities are
    /// `null` there, so none).
    pub(super) fn number(&self, i: usize) -> Option<f64> {
        match self {
            Cells::Float(v) => v.get(i).copied().filter(|x| x.is_finite()),
            Cells::Int(v) => v.get(i).map(|&x| x as f64),
            Cells::Json(v) => v.get(i).and_then(Value::as_f64),
            Cells::Str(_) | Cells::Bool(_) => None,
        }
    }

    fn write<S: Serializer>(&self, i: usize, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cells::Str(v) => s.serialize_str(&v[i]),
            Cells::Bool(v) => s.serialize_bool(v[i]),
            // serde_json writes a non-finite float as null.
            Cells::Float(v) => s.serialize_f64(v[i]),
            Cells::Int(v) => s.serialize_i64(v[i]),
            Cells::Json(v) => v[i].serialize(s),
        }
    }
}

/// One output after the run and the repairs.
#[derive(Debug)]
pub(super) struct Out<'m> {
    /// The tensor's shape.
    pub(super) shape: Vec<usize>,
    pub(super) cells: Cells,
    /// For a removed `ZipMap`: each row of `cells` is written as a map of these labels.
    pub(super) zip: Option<&'m ZipKeys>,
}

impl Out<'_> {
    /// The number of elements: maps for a `ZipMap`, else cells.
    pub(super) fn len(&self) -> usize {
        match self.zip {
            Some(z) => self.cells.len().div_ceil(z.width),
            None => self.cells.len(),
        }
    }

    /// The shape of the elements: one dimension of maps for a `ZipMap`.
    pub(super) fn shape(&self) -> Vec<usize> {
        match self.zip {
            Some(_) => vec![self.len()],
            None => self.shape.clone(),
        }
    }

    /// The whole output as nested lists, as numpy's `tolist()` gives it.
    pub(super) fn nested<'a>(&'a self, shape: &'a [usize]) -> Nested<'a> {
        Nested {
            out: self,
            shape,
            start: 0,
        }
    }
}

/// Element `i` of an output: a cell, or a `ZipMap`'s map of one probability row.
struct Element<'a> {
    out: &'a Out<'a>,
    i: usize,
}

impl Serialize for Element<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(zip) = self.out.zip else {
            return self.out.cells.write(self.i, s);
        };
        let start = self.i * zip.width;
        let end = (start + zip.width).min(self.out.cells.len());
        let present = || zip.keys.iter().filter(|(_, j)| start + j < end);
        let mut map = s.serialize_map(Some(present().count()))?;
        for (label, j) in present() {
            map.serialize_entry(label, &CellAt(&self.out.cells, start + j))?;
        }
        map.end()
    }
}

struct CellAt<'a>(&'a Cells, usize);

impl Serialize for CellAt<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.write(self.1, s)
    }
}

/// The elements of an output from `start` on, nested by `shape`.
pub(super) struct Nested<'a> {
    out: &'a Out<'a>,
    shape: &'a [usize],
    start: usize,
}

impl Serialize for Nested<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = self.out.len();
        match self.shape {
            [] if self.start < len => Element {
                out: self.out,
                i: self.start,
            }
            .serialize(s),
            [] => s.serialize_unit(),
            [n] => {
                let end = (self.start + n).min(len);
                let mut seq = s.serialize_seq(Some(end.saturating_sub(self.start)))?;
                for i in self.start..end {
                    seq.serialize_element(&Element { out: self.out, i })?;
                }
                seq.end()
            }
            [n, rest @ ..] => {
                let step = rest.iter().product::<usize>();
                let mut seq = s.serialize_seq(Some(*n))?;
                for k in 0..*n {
                    seq.serialize_element(&Nested {
                        out: self.out,
                        shape: rest,
                        start: self.start + k * step,
                    })?;
                }
                seq.end()
            }
        }
    }
}

/// How one output goes into each record.
enum Field {
    /// Element `i` of the output is row `i`'s value.
    Element,
    /// Row `i` holds elements `i * step ..` nested by the output's shape after the batch.
    Slice { step: usize },
}

/// The predictions for a DataFrame request: one record per row, each holding every output
/// (named `names[k]`), keys in `order`.
pub(super) struct Records<'a> {
    rows: usize,
    fields: Vec<(&'a str, &'a Out<'a>, Field, Vec<usize>)>,
}

impl<'a> Records<'a> {
    /// Checks that every output has one element (or one slice) per row, in output order.
    /// `order` lists the outputs to write, in key order.
    pub(super) fn new(
        rows: usize,
        names: &'a [&'a str],
        outs: &'a [Out<'a>],
        order: &[usize],
    ) -> Result<Records<'a>, ModelError> {
        let mut fields: Vec<Option<(Field, Vec<usize>)>> = Vec::with_capacity(outs.len());
        for out in outs {
            if rows == 0 {
                fields.push(None);
                continue;
            }
            let (len, shape) = (out.len(), out.shape());
            let field = if len == rows {
                Field::Element
            } else if len % rows == 0 && shape.first() == Some(&rows) {
                Field::Slice { step: len / rows }
            } else {
                return Err(ModelError::OutputCount {
                    rows,
                    outputs: shape.first().copied().unwrap_or(0),
                });
            };
            fields.push(Some((field, shape[1.min(shape.len())..].to_vec())));
        }
        let mut ordered = Vec::with_capacity(order.len());
        for &k in order {
            if let Some((field, inner)) = fields[k].take() {
                ordered.push((names[k], &outs[k], field, inner));
            }
        }
        Ok(Records {
            rows,
            fields: ordered,
        })
    }
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.rows))?;
        for i in 0..self.rows {
            seq.serialize_element(&Record { records: self, i })?;
        }
        seq.end()
    }
}

struct Record<'a> {
    records: &'a Records<'a>,
    i: usize,
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = &self.records.fields;
        let mut map = s.serialize_map(Some(fields.len()))?;
        for (name, out, field, inner) in fields {
            match field {
                Field::Element => map.serialize_entry(name, &Element { out, i: self.i })?,
                Field::Slice { step } => map.serialize_entry(
                    name,
                    &Nested {
                        out,
                        shape: inner,
                        start: self.i * step,
                    },
                )?,
            }
        }
        map.end()
    }
}

/// The predictions for a tensor request: output name to nested list, keys in `order`.
pub(super) struct Tensors<'a> {
    pub(super) names: &'a [&'a str],
    pub(super) outs: &'a [Out<'a>],
    pub(super) shapes: Vec<Vec<usize>>,
    pub(super) order: &'a [usize],
}

impl Serialize for Tensors<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.order.len()))?;
        for &k in self.order {
            map.serialize_entry(self.names[k], &self.outs[k].nested(&self.shapes[k]))?;
        }
        map.end()
    }
}

/// A response body: `{"predictions": ...}`.
pub(super) struct Response<P>(pub(super) P);

impl<P: Serialize> Serialize for Response<P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("predictions", &self.0)?;
        map.end()
    }
}

/// Output indices in the order a JSON object writes their names: sorted, a repeated name
/// keeping its last output.
pub(super) fn key_order(names: &[&str]) -> Vec<usize> {
    let by_name: BTreeMap<&str, usize> = names.iter().enumerate().map(|(k, n)| (*n, k)).collect();
    by_name.into_values().collect()
}
