//! The loss head: softmax of the logits and the cross-entropy with the (optionally smoothed)
//! one-hot targets, forward and backward in one pass over each row.

use ndarray::ArrayViewMut2;

use crate::network::BatchStats;

/// Softmax and cross-entropy loss, then their backward, in place on the logits `z` `(n, 10)`:
/// `P = softmax(Z)`; the targets are `T = (1 - s) one_hot(Y) + s / classes` for label smoothing
/// `s`; the loss of a row is `log-sum-exp(Z) - T·Z` (the stable form of `-T·log P`, which is
/// `-log P[label]` for `s = 0`); `z` becomes `dZ = P - T`. Returns the summed loss and the count
/// of rows whose largest logit is the label.
pub(crate) fn forward_backward(mut z: ArrayViewMut2<'_, f32>, labels: &[u8], smoothing: f32) -> BatchStats {
    let mut stats = BatchStats {
        rows: z.nrows(),
        ..BatchStats::default()
    };
    for (mut row, &label) in z.rows_mut().into_iter().zip(labels) {
        let row = row.as_slice_mut().expect("rows are contiguous");
        if argmax(row) == label as usize {
            stats.correct += 1;
        }
        let spread = smoothing / row.len() as f32;
        let z_target = if smoothing > 0.0 {
            (1.0 - smoothing) * row[label as usize] + spread * row.iter().sum::<f32>()
        } else {
            row[label as usize]
        };
        let log_sum_exp = softmax_in_place(row);
        stats.loss_sum += f64::from(log_sum_exp - z_target);
        if smoothing > 0.0 {
            for p in row.iter_mut() {
                *p -= spread;
            }
            row[label as usize] -= 1.0 - smoothing;
        } else {
            row[label as usize] -= 1.0;
        }
    }
    stats
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Replaces logits with probabilities, subtracting the maximum before `exp` so huge logits
/// cannot overflow. Returns log-sum-exp of the original logits.
pub fn softmax_in_place(z: &mut [f32]) -> f32 {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
    max + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::softmax_in_place;

    #[test]
    fn softmax_is_stable_with_huge_logits() {
        let mut z = [1000.0f32, 1000.0, -1000.0, 3.0e38];
        let lse = softmax_in_place(&mut z);
        assert!(z.iter().all(|p| p.is_finite()));
        assert_eq!(z[3], 1.0);
        assert!((lse - 3.0e38).abs() / 3.0e38 < 1e-6);
        let mut z = [1000.0f32, 1000.0];
        softmax_in_place(&mut z);
        assert_eq!(z, [0.5, 0.5]);
    }
}
