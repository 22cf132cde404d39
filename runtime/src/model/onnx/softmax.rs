//! A softmax over short rows, put in place of tract's where it is slow.
//!
//! A classifier's probabilities are a softmax over a row of a few class scores per input row.
//! tract's `Softmax` takes a vectorised path only for rows whose length is a multiple of 4;
//! any other row goes through three vector kernels (max, exp-sum, scale), each borrowing a
//! thread-local scratch buffer, so for a row of three scores the calls are the work. Profiled
//! under `bench/serving.sh`, that was 16% of a 100-row request to a three-class
//! LogisticRegression. [`shorten_softmaxes`] swaps such nodes for [`ShortRowSoftmax`], a plain
//! loop over each row with the standard library's `exp` (closer to the exact value than the
//! kernels' polynomial). Everything else keeps tract's op.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};

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
        // The kernels of the ops before this one leave the vector registers' upper halves in
        // use, which would slow this plain loop 25-fold.
        super::upper_state::clear();
        let input = args_1!(inputs);
        let mut output = input.into_tensor();
        ensure!(
            output.strides() == &*Tensor::natural_strides(output.shape()),
            "ShortRowSoftmax needs a contiguous tensor"
        );
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

/// Replaces each of `model`'s softmaxes over short rows of `f32` (the last axis, a known
/// length up to [`SHORT_ROW`] that tract's row kernel does not take) by [`ShortRowSoftmax`].
pub(super) fn shorten_softmaxes(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let Some(softmax) = model.nodes[id].op_as::<Softmax>() else {
            continue;
        };
        let fact = model.outlet_fact(model.nodes[id].inputs[0])?;
        let rank = fact.rank();
        let last = rank.checked_sub(1);
        let row_len = last.and_then(|axis| fact.shape[axis].to_usize().ok());
        let fits = softmax.kind == SoftmaxKind::Softmax
            && softmax.quant_output_dt.is_none()
            && fact.datum_type == f32::datum_type()
            && softmax.axes.as_slice() == last.as_slice()
            && row_len.is_some_and(|n| (1..=SHORT_ROW).contains(&n) && n % 4 != 0);
        if let (true, Some(row_len)) = (fits, row_len) {
            model.nodes[id].op = Box::new(ShortRowSoftmax { row_len });
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
}
