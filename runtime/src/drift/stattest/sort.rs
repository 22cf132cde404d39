//! Radix sort of `f64` by IEEE-754 bit pattern: sorting dominates drift detection on large
//! columns, and an LSD radix sort is 3–5× faster than a comparison sort on a million floats.

/// Maps a float to a `u64` whose unsigned order is the float's total order.
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

const BITS: usize = 11;
const RADIX: usize = 1 << BITS;
const PASSES: usize = 6;

/// Sorts ascending in `f64::total_cmp` order (callers pass finite values only).
pub(crate) fn sort_f64(v: &mut Vec<f64>) {
    if v.len() < 4096 {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    // In-place collect reuses the allocation (same size and alignment), so only `tmp` is extra.
    let mut keys: Vec<u64> = std::mem::take(v).into_iter().map(key).collect();
    let n = keys.len();
    let mut hist = vec![[0usize; RADIX]; PASSES];
    for &k in &keys {
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p * BITS)) as usize) & (RADIX - 1)] += 1;
        }
    }
    let mut tmp = vec![0u64; n];
    for (p, h) in hist.iter_mut().enumerate() {
        if h.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut sum = 0usize;
        for c in h.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        let shift = p * BITS;
        for &k in &keys {
            let d = ((k >> shift) as usize) & (RADIX - 1);
            tmp[h[d]] = k;
            h[d] += 1;
        }
        std::mem::swap(&mut keys, &mut tmp);
    }
    drop(tmp);
    *v = keys.into_iter().map(unkey).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_total_cmp() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut v: Vec<f64> = (0..20_000)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s as i64 as f64) / 1e15 * if s.is_multiple_of(3) { -1.0 } else { 1.0 }
            })
            .collect();
        v.push(0.0);
        v.push(-0.0);
        let mut w = v.clone();
        w.sort_by(f64::total_cmp);
        sort_f64(&mut v);
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            w.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}
