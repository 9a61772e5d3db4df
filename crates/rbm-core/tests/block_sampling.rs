//! Sampling in parallel blocks draws from the right distribution, with independent uniforms in
//! each block. A step large enough to be cut in two (see `Rbm::step`) has each block draw its
//! own uniforms from its own seed; a mistake there (a block reusing the other's stream, a part
//! of the buffer left unfilled) would bias the samples or correlate the two blocks, which these
//! tests measure against the exact means with error bars from the exact variances.

use ndarray::{s, Array2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{Rbm, Units};

/// Weights in `[-0.05, 0.05)` and biases in `[-0.1, 0.1)`, from a fixed formula.
fn model(nv: usize, nh: usize) -> Rbm<f64> {
    let w = Array2::from_shape_fn((nv, nh), |(i, j)| {
        (((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5) / 10.0
    });
    let a = ndarray::Array1::from_shape_fn(nv, |i| ((i * 31 % 200) as f64 / 1000.0) - 0.1);
    let b = ndarray::Array1::from_shape_fn(nh, |j| ((j * 17 % 200) as f64 / 1000.0) - 0.1);
    Rbm::new(w, a, b, Units::Spin, Units::Spin).unwrap()
}

fn spins(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| if rand::Rng::random::<bool>(&mut rng) { 1.0 } else { -1.0 })
}

/// z-scores of (1) the samples' total deviation from their means and (2) the correlation of
/// deviations between element pairs `pair(i, j)` that two blocks fill from the same position
/// of their own streams; both N(0, 1) when sampling is right.
fn z_scores(
    means: &Array2<f64>,
    draws: &[Array2<f64>],
    pairs: impl Fn(usize, usize) -> Option<(usize, usize)>,
) -> (f64, f64) {
    let (mut dev, mut var, mut cross, mut cross_var) = (0.0, 0.0, 0.0, 0.0);
    for s in draws {
        for ((i, j), &x) in s.indexed_iter() {
            let m = means[[i, j]];
            dev += x - m;
            var += 1.0 - m * m;
            if let Some((k, l)) = pairs(i, j) {
                let mk = means[[k, l]];
                cross += (x - m) * (s[[k, l]] - mk);
                cross_var += (1.0 - m * m) * (1.0 - mk * mk);
            }
        }
    }
    (dev / var.sqrt(), cross / cross_var.sqrt())
}

#[test]
fn hidden_samples_of_a_split_step_are_unbiased_and_independent_across_blocks() {
    // 64 × 512 × 256 multiply-adds: the hidden step cuts its inner dimension and then its
    // rows, [0, 32) and [32, 64), each block drawing its own uniforms row by row.
    const _: () = assert!(64 * 512 * 256 >= rbm_core::SPLIT_MIN_WORK, "the step must be cut in two");
    let rbm = model(512, 256);
    let v = spins(64, 512, 1);
    let means = rbm.hidden_means(v.view()).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let draws: Vec<_> = (0..40).map(|_| rbm.sample_hidden(v.view(), &mut rng).unwrap()).collect();
    let (z, zc) = z_scores(&means, &draws, |i, j| (i < 32).then_some((i + 32, j)));
    assert!(z.abs() < 5.0, "hidden samples off their means by {z:.2} standard errors");
    assert!(zc.abs() < 5.0, "hidden samples of the two blocks correlated at {zc:.2} standard errors");
    // Every sample is a spin, in every row of both blocks.
    assert!(draws.iter().all(|d| d.iter().all(|&x| x == 1.0 || x == -1.0)));
}

#[test]
fn visible_samples_of_a_split_step_are_unbiased_and_independent_across_blocks() {
    // The visible step cuts its columns, [0, 256) and [256, 512).
    const _: () = assert!(64 * 512 * 256 >= rbm_core::SPLIT_MIN_WORK, "the step must be cut in two");
    let rbm = model(512, 256);
    let h = spins(64, 256, 3);
    let means = rbm.visible_means(h.view()).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let draws: Vec<_> = (0..40).map(|_| rbm.sample_visible(h.view(), &mut rng).unwrap()).collect();
    let (z, zc) = z_scores(&means, &draws, |i, j| (j < 256).then_some((i, j + 256)));
    assert!(z.abs() < 5.0, "visible samples off their means by {z:.2} standard errors");
    assert!(zc.abs() < 5.0, "visible samples of the two blocks correlated at {zc:.2} standard errors");
    // Successive draws differ (the seeds come from the caller's generator).
    assert_ne!(draws[0].slice(s![.., 256..]), draws[1].slice(s![.., 256..]));
}
