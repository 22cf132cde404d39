//! Softmax and arg-max over short rows, put in place of tract's ops where those are slow.
//!
//! A classifier's probabilities are a softmax over a row of a few class scores per input row.
//! tract's `Softmax` takes a vectorised path only for rows whose length is a multiple of 4;
//! any other row goes through three vector kernels (max, exp-sum, scale), each borrowing a
//! thread-local scratch buffer, so for a row of three scores the calls are the work. Profiled
//! under `bench/serving.sh`, that was 16% of a 100-row request to a three-class
//! LogisticRegression. Its `ArgMax` (the predicted label) builds an ndarray slice per row:
//! another 10%. [`shorten`] swaps such nodes for [`ShortRowSoftmax`] and [`ShortRowArgMax`],
//! plain loops over each row (the softmax with the standard library's `exp`, closer to the
//! exact value than the kernels' polynomial). Everything else keeps tract's op.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer, Softmax, SoftmaxKind};

/// The longest row [`ShortRowSoftmax`] takes over.
const SHORT_ROW: usize = 16;

/// Softmax over the last axis of a contiguous `f32` tensor whose rows have `row_len` values.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct ShortRowSoftmax {
    row_len: usize,
}

impl Op for ShortRowSoftmax {
    fn name(&self) -> StaticName {
        "ShortRowSoftmax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ShortRowSoftmax {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut output = contiguous_input(inputs, "ShortRowSoftmax")?.into_tensor();
        {
            let mut plain = output.try_as_plain_ram_mut()?;
            for row in plain.as_slice_mut::<f32>()?.chunks_mut(self.row_len) {
                softmax_row(row);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for ShortRowSoftmax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].without_value()))
    }

    as_op!();
}

/// The single input of the short-row op `op`, checked to be contiguous, with the vector
/// registers' upper halves cleared first: the kernels of the ops before it leave them in use,
/// which would slow the op's plain loops 25-fold (see `upper_state`).
fn contiguous_input(inputs: TVec<TValue>, op: &str) -> TractResult<TValue> {
    super::upper_state::clear();
    let input = args_1!(inputs);
    ensure!(
        input.strides() == &*Tensor::natural_strides(input.shape()),
        "{op} needs a contiguous tensor"
    );
    Ok(input)
}

/// One row in place: `exp(x - max) / sum`, as ONNX defines `Softmax`.
fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let inv = sum.recip();
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// The index of the greatest value of each row of a contiguous `f32` tensor (`row_len`
/// values per row) as `i64`, the reduced axis kept with length 1: tract's `Reduce` with
/// `ArgMax` over the last axis, with its rules (NaN is never the greatest; with `last`, ties
/// go to the last index, else to the first).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct ShortRowArgMax {
    row_len: usize,
    last: bool,
}

impl Op for ShortRowArgMax {
    fn name(&self) -> StaticName {
        "ShortRowArgMax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ShortRowArgMax {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = contiguous_input(inputs, "ShortRowArgMax")?;
        let plain = input.try_as_plain_ram()?;
        let indices: Vec<i64> = plain
            .as_slice::<f32>()?
            .chunks(self.row_len)
            .map(|row| {
                let mut best = (0, f32::MIN);
                for (i, &v) in row.iter().enumerate() {
                    if v > best.1 || (self.last && v == best.1) {
                        best = (i, v);
                    }
                }
                best.0 as i64
            })
            .collect();
        let mut shape: TVec<usize> = input.shape().into();
        if let Some(last) = shape.last_mut() {
            *last = 1;
        }
        Ok(tvec!(tensor1(&indices).into_shape(&shape)?.into_tvalue()))
    }
}

impl TypedOp for ShortRowArgMax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.to_tvec();
        if let Some(last) = shape.last_mut() {
            *last = 1.to_dim();
        }
        Ok(tvec!(i64::fact(shape)))
    }

    as_op!();
}

/// Replaces each of `model`'s softmaxes over short rows of `f32` (the last axis, a known
/// length up to [`SHORT_ROW`] that tract's row kernel does not take) by [`ShortRowSoftmax`],
/// and each arg-max over short rows of `f32` (the last axis, up to [`SHORT_ROW`]) by
/// [`ShortRowArgMax`].
pub(super) fn shorten(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        // Sources and constants have no input.
        let Some(&input) = model.nodes[id].inputs.first() else {
            continue;
        };
        let fact = model.outlet_fact(input)?;
        let last = fact.rank().checked_sub(1);
        let row_len = last
            .and_then(|axis| fact.shape[axis].to_usize().ok())
            .filter(|n| (1..=SHORT_ROW).contains(n));
        let (Some(row_len), true) = (row_len, fact.datum_type == f32::datum_type()) else {
            continue;
        };
        let node = &model.nodes[id];
        if let Some(softmax) = node.op_as::<Softmax>()
            && softmax.kind == SoftmaxKind::Softmax
            && softmax.quant_output_dt.is_none()
            && softmax.axes.as_slice() == last.as_slice()
            && row_len % 4 != 0
        {
            model.nodes[id].op = Box::new(ShortRowSoftmax { row_len });
        } else if let Some(reduce) = node.op_as::<Reduce>()
            && let Reducer::ArgMax(take_last) = reduce.reducer
            && reduce.axes.as_slice() == last.as_slice()
        {
            model.nodes[id].op = Box::new(ShortRowArgMax {
                row_len,
                last: take_last,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same softmaxes through tract's op and through the short-row one: equal within
    /// float rounding, over rows of every length the swap takes and with large, tiny and
    /// equal scores.
    #[test]
    fn short_rows_match_tracts_softmax() {
        for row_len in (1..=SHORT_ROW).filter(|n| n % 4 != 0) {
            let rows = 7;
            let values: Vec<f32> = (0..rows * row_len)
                .map(|i| match i % 5 {
                    0 => 80.0,
                    1 => -3.5,
                    2 => 1e-6,
                    _ => (i as f32).sin() * 4.0,
                })
                .collect();
            let input = tensor1(&values).into_shape(&[rows, row_len]).unwrap();
            let theirs = Softmax::new(tvec![1], None, SoftmaxKind::Softmax)
                .eval(
                    &EvalContext::out_of_plan(),
                    tvec![input.clone().into_tvalue()],
                )
                .unwrap();
            let ours = ShortRowSoftmax { row_len }
                .eval(&EvalContext::out_of_plan(), tvec![input.into_tvalue()])
                .unwrap();
            let (a, b) = (
                theirs[0].to_plain_array_view::<f32>().unwrap().to_owned(),
                ours[0].to_plain_array_view::<f32>().unwrap().to_owned(),
            );
            for (x, y) in a.iter().zip(b.iter()) {
                assert!(
                    (x - y).abs() <= 1e-6 + 1e-5 * x.abs(),
                    "{row_len}: {x} vs {y}"
                );
            }
            for row in b.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-5, "{row_len}: {row:?}");
            }
        }
    }

    /// The same arg-maxes through tract's op and through the short-row one, with ties,
    /// infinities and NaN, taking the first or the last of equal values.
    #[test]
    fn short_rows_argmax_as_tract() {
        let specials = [
            2.0,
            -1.0,
            2.0,
            f32::NAN,
            f32::NEG_INFINITY,
            f32::INFINITY,
            0.5,
            -0.0,
        ];
        for row_len in 1..=SHORT_ROW {
            let rows = 9;
            let values: Vec<f32> = (0..rows * row_len)
                .map(|i| specials[(i * 5 + i / 3) % specials.len()])
                .collect();
            let input = tensor1(&values).into_shape(&[rows, row_len]).unwrap();
            for last in [false, true] {
                let theirs = Reduce::new(tvec![1], Reducer::ArgMax(last))
                    .eval(
                        &EvalContext::out_of_plan(),
                        tvec![input.clone().into_tvalue()],
                    )
                    .unwrap();
                let ours = ShortRowArgMax { row_len, last }
                    .eval(
                        &EvalContext::out_of_plan(),
                        tvec![input.clone().into_tvalue()],
                    )
                    .unwrap();
                assert_eq!(theirs[0].shape(), ours[0].shape(), "{row_len} {last}");
                assert_eq!(
                    theirs[0].to_plain_array_view::<i64>().unwrap(),
                    ours[0].to_plain_array_view::<i64>().unwrap(),
                    "{row_len} {last}: {values:?}"
                );
            }
        }
    }
}
