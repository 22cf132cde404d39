//! Elastic-net linear regression (coordinate descent) on generated "wine quality" data: the
//! model code both entry points of the project share.

/// Rows of features and a target.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Data {
    /// Feature rows.
    pub x: Vec<Vec<f64>>,
    /// Targets.
    pub y: Vec<f64>,
}

/// `rows` rows of 4 features; quality = 5 + 0.8·alcohol − 0.6·acidity + noise (a fixed-seed
/// generator, so runs repeat).
pub fn generate(rows: usize, seed: u64) -> Data {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let row: Vec<f64> = (0..4).map(|_| next() * 2.0 - 1.0).collect();
        let noise = (next() + next() + next() - 1.5) * 0.3;
        y.push(5.0 + 0.8 * row[0] - 0.6 * row[1] + noise);
        x.push(row);
    }
    Data { x, y }
}

/// A fitted linear model.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Model {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

/// Fits `y ≈ x·w + b` minimising squared error + alpha·(l1_ratio·|w|₁ + (1−l1_ratio)/2·|w|²),
/// scikit-learn's `ElasticNet` objective, by coordinate descent.
pub fn elastic_net(data: &Data, alpha: f64, l1_ratio: f64, epochs: usize) -> Model {
    let n = data.y.len().max(1) as f64;
    let p = data.x.first().map_or(0, Vec::len);
    let mean_y = data.y.iter().sum::<f64>() / n;
    let mut w = vec![0.0; p];
    for _ in 0..epochs {
        for j in 0..p {
            let mut rho = 0.0;
            let mut norm = 0.0;
            for (row, y) in data.x.iter().zip(&data.y) {
                let pred: f64 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + mean_y;
                rho += row[j] * (y - pred + row[j] * w[j]);
                norm += row[j] * row[j];
            }
            let (rho, norm) = (rho / n, norm / n);
            let l1 = alpha * l1_ratio;
            let soft = if rho > l1 {
                rho - l1
            } else if rho < -l1 {
                rho + l1
            } else {
                0.0
            };
            w[j] = soft / (norm + alpha * (1.0 - l1_ratio));
        }
    }
    Model {
        weights: w,
        intercept: mean_y,
    }
}

/// Root mean squared error and R² of `model` on `data`.
pub fn evaluate(model: &Model, data: &Data) -> (f64, f64) {
    let n = data.y.len().max(1) as f64;
    let mean = data.y.iter().sum::<f64>() / n;
    let (mut sse, mut sst) = (0.0, 0.0);
    for (row, y) in data.x.iter().zip(&data.y) {
        let pred: f64 = row
            .iter()
            .zip(&model.weights)
            .map(|(a, b)| a * b)
            .sum::<f64>()
            + model.intercept;
        sse += (y - pred).powi(2);
        sst += (y - mean).powi(2);
    }
    ((sse / n).sqrt(), 1.0 - sse / sst.max(f64::MIN_POSITIVE))
}
