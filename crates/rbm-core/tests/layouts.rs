//! Every memory layout gives the same answer. The products of an RBM's fields run on row-major
//! buffers (the kernel module copies other layouts first, and computes into a copy of an output
//! that is not row-major), so inputs, weights and outputs of any layout must give the same
//! bytes as row-major ones, and those must agree with an explicit sum over the units.

use ndarray::{s, Array1, Array2, ArrayView2, ShapeBuilder};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_core::{Rbm, Units};

/// A deterministic pseudo-random matrix of spins (±1).
fn spins(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_fn((rows, cols), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state >> 63 == 1 {
            1.0
        } else {
            -1.0
        }
    })
}

/// Weights in `[-0.05, 0.05)` and biases in `[-0.1, 0.1)`, from a fixed formula.
fn model(nv: usize, nh: usize, fortran: bool) -> Rbm<f64> {
    let w = |(i, j): (usize, usize)| (((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5) / 10.0;
    let weights =
        if fortran { Array2::from_shape_fn((nv, nh).f(), w) } else { Array2::from_shape_fn((nv, nh), w) };
    // The visible bias reversed in memory (a negative stride), to check that too.
    let a = Array1::from_shape_fn(nv, |i| (((nv - 1 - i) * 31 % 200) as f64 / 1000.0) - 0.1);
    let a = a.slice(s![..;-1]).to_owned();
    let b = Array1::from_shape_fn(nh, |j| ((j * 17 % 200) as f64 / 1000.0) - 0.1);
    Rbm::new(weights, a, b, Units::Spin, Units::Spin).unwrap()
}

/// `tanh(b_j + Σ_i v_i W_ij)`, the mean of a hidden spin, summed explicitly.
fn hidden_means_by_sums(rbm: &Rbm<f64>, v: ArrayView2<f64>) -> Array2<f64> {
    let (w, b) = (rbm.weights(), rbm.hidden_bias());
    Array2::from_shape_fn((v.nrows(), rbm.n_hidden()), |(r, j)| {
        let x: f64 = b[j] + (0..rbm.n_visible()).map(|i| v[[r, i]] * w[[i, j]]).sum::<f64>();
        x.tanh()
    })
}

/// `v` copied into column-major (Fortran) memory order.
fn fortran(v: &Array2<f64>) -> Array2<f64> {
    let mut f = Array2::zeros(v.dim().f());
    f.assign(v);
    f
}

// Shapes below and above the size at which a product is cut into two parallel blocks.
const SHAPES: [(usize, usize, usize); 3] = [(3, 5, 4), (40, 512, 512), (17, 300, 40)];
const _: () = assert!(40 * 512 * 512 >= rbm_core::SPLIT_MIN_WORK && 17 * 300 * 40 < rbm_core::SPLIT_MIN_WORK);

#[test]
fn inputs_and_weights_of_any_layout_give_the_same_bytes_as_row_major_ones() {
    for (batch, nv, nh) in SHAPES {
        let rbm = model(nv, nh, false);
        let v = spins(batch, nv, 1);
        let reference = rbm.hidden_means(v.view()).unwrap();

        // The explicit sum (an independent computation) agrees to rounding.
        let sums = hidden_means_by_sums(&rbm, v.view());
        let worst = (&reference - &sums).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(worst < 1e-12, "{batch}x{nv}x{nh}: hidden means off the explicit sum by {worst:e}");

        // Column-major input, every other row of a larger array, and column-major weights.
        assert_eq!(
            rbm.hidden_means(fortran(&v).view()).unwrap(),
            reference,
            "{batch}x{nv}x{nh}: F-order input"
        );
        let mut tall = Array2::zeros((2 * batch, nv));
        tall.slice_mut(s![..;2, ..]).assign(&v);
        assert_eq!(
            rbm.hidden_means(tall.slice(s![..;2, ..])).unwrap(),
            reference,
            "{batch}x{nv}x{nh}: strided rows"
        );
        let f_model = model(nv, nh, true);
        assert_eq!(f_model.weights(), rbm.weights());
        assert_eq!(f_model.hidden_means(v.view()).unwrap(), reference, "{batch}x{nv}x{nh}: F-order weights");

        // The visible side, and the transposed model (its weights are a transposed copy).
        let h = spins(batch, nh, 2);
        let vis = rbm.visible_means(h.view()).unwrap();
        assert_eq!(
            rbm.visible_means(fortran(&h).view()).unwrap(),
            vis,
            "{batch}x{nv}x{nh}: F-order hidden input"
        );
        // The transposed model's hidden step is the visible step of the original, but a large
        // hidden step adds its field in two parts (the blocks of its inner dimension, see
        // `Rbm::step`), so the two agree to rounding rather than to the byte.
        let t = rbm.transposed().hidden_means(h.view()).unwrap();
        let worst = (&t - &vis).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(worst < 1e-12, "{batch}x{nv}x{nh}: transposed model off by {worst:e}");
    }
}

#[test]
fn outputs_of_any_layout_get_the_same_bytes_as_row_major_ones() {
    for (batch, nv, nh) in SHAPES {
        let rbm = model(nv, nh, false);
        let v = spins(batch, nv, 3);
        let mut field = Array2::zeros((batch, nh));
        rbm.hidden_field_into(v.view(), field.view_mut()).unwrap();

        // A column-major output and a block of columns of a wider one.
        let mut f_out = Array2::zeros((batch, nh).f());
        rbm.hidden_field_into(v.view(), f_out.view_mut()).unwrap();
        assert_eq!(f_out, field, "{batch}x{nv}x{nh}: F-order output");
        let mut wide = Array2::from_elem((batch, nh + 3), 7.0);
        rbm.hidden_field_into(v.view(), wide.slice_mut(s![.., 1..nh + 1])).unwrap();
        assert_eq!(wide.slice(s![.., 1..nh + 1]), field, "{batch}x{nv}x{nh}: column block");
        assert!(wide.column(0).iter().chain(wide.slice(s![.., nh + 1..]).iter()).all(|&x| x == 7.0));

        // Sampling into column-major means and samples: the same means, samples and random stream.
        let sample = |means: &mut Array2<f64>, samples: &mut Array2<f64>| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
            let mut u = vec![0.0; batch * nh];
            rbm.sample_hidden_into(v.view(), means.view_mut(), samples.view_mut(), &mut u, &mut rng).unwrap();
        };
        let (mut m, mut h) = (Array2::zeros((batch, nh)), Array2::zeros((batch, nh)));
        sample(&mut m, &mut h);
        let (mut mf, mut hf) = (Array2::zeros((batch, nh).f()), Array2::zeros((batch, nh).f()));
        sample(&mut mf, &mut hf);
        assert_eq!(mf, m, "{batch}x{nv}x{nh}: F-order means");
        assert_eq!(hf, h, "{batch}x{nv}x{nh}: F-order samples");
        assert!(h.iter().all(|&x| x == 1.0 || x == -1.0));
    }
}
