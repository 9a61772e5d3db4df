//! Exact identities of the RBM, checked by explicit enumeration on small random models:
//! free energies against explicit sums over the other layer, `ln Z` summed over either layer,
//! the paper's sign convention, and unit-convention conversion as "the same distribution".

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rbm_core::{all_states, Layer, Rbm, Units};

fn units() -> impl Strategy<Value = Units> {
    prop_oneof![Just(Units::Spin), Just(Units::Binary)]
}

/// Random small model: 1-5 visible, 1-4 hidden, parameters in [-1.5, 1.5].
fn model() -> impl Strategy<Value = Rbm<f64>> {
    (1usize..=5, 1usize..=4, units(), units()).prop_flat_map(|(nv, nh, vu, hu)| {
        (
            proptest::collection::vec(-1.5f64..1.5, nv * nh),
            proptest::collection::vec(-1.5f64..1.5, nv),
            proptest::collection::vec(-1.5f64..1.5, nh),
        )
            .prop_map(move |(w, a, b)| {
                Rbm::new(
                    Array2::from_shape_vec((nv, nh), w).unwrap(),
                    Array1::from(a),
                    Array1::from(b),
                    vu,
                    hu,
                )
                .unwrap()
            })
    })
}

/// `ln Σ_{v,h} e^{-E(v,h)}` by brute force over both layers.
fn brute_log_z(rbm: &Rbm<f64>) -> f64 {
    let vs = all_states::<f64>(rbm.n_visible(), rbm.visible_units()).unwrap();
    let hs = all_states::<f64>(rbm.n_hidden(), rbm.hidden_units()).unwrap();
    let mut z = 0.0;
    for v in vs.rows() {
        for h in hs.rows() {
            z += (-rbm.energy(v, h).unwrap()).exp();
        }
    }
    z.ln()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn free_energy_is_minus_log_of_the_explicit_sum(rbm in model()) {
        let vs = all_states::<f64>(rbm.n_visible(), rbm.visible_units()).unwrap();
        let hs = all_states::<f64>(rbm.n_hidden(), rbm.hidden_units()).unwrap();
        let fv = rbm.free_energies(vs.view()).unwrap();
        for (v, f) in vs.rows().into_iter().zip(&fv) {
            let s: f64 = hs.rows().into_iter().map(|h| (-rbm.energy(v, h).unwrap()).exp()).sum();
            prop_assert!((f + s.ln()).abs() < 1e-10, "F(v) = {f}, -ln Σ = {}", -s.ln());
            prop_assert!((rbm.free_energy(v).unwrap() - f).abs() < 1e-12);
        }
        let fh = rbm.hidden_free_energies(hs.view()).unwrap();
        for (h, f) in hs.rows().into_iter().zip(&fh) {
            let s: f64 = vs.rows().into_iter().map(|v| (-rbm.energy(v, h).unwrap()).exp()).sum();
            prop_assert!((f + s.ln()).abs() < 1e-10);
        }
    }

    #[test]
    fn log_partition_is_the_same_over_either_layer(rbm in model()) {
        let brute = brute_log_z(&rbm);
        let over_v = rbm.exact_log_partition_over(Layer::Visible).unwrap();
        let over_h = rbm.exact_log_partition_over(Layer::Hidden).unwrap();
        prop_assert!((over_v - brute).abs() < 1e-10, "{over_v} vs {brute}");
        prop_assert!((over_h - brute).abs() < 1e-10, "{over_h} vs {brute}");
        prop_assert!((rbm.exact_log_partition().unwrap() - brute).abs() < 1e-10);
    }

    #[test]
    fn unit_conversion_keeps_the_distribution(rbm in model(), vu in units(), hu in units()) {
        let (conv, offset) = rbm.with_units(vu, hu);
        prop_assert_eq!(conv.visible_units(), vu);
        prop_assert_eq!(conv.hidden_units(), hu);
        let log_z = rbm.exact_log_partition().unwrap();
        let log_z_conv = conv.exact_log_partition().unwrap();
        prop_assert!((log_z - (log_z_conv - offset)).abs() < 1e-10);
        // Joint probabilities of corresponding states agree.
        let n_v = rbm.n_visible();
        let n_h = rbm.n_hidden();
        let vs = all_states::<f64>(n_v, rbm.visible_units()).unwrap();
        let hs = all_states::<f64>(n_h, rbm.hidden_units()).unwrap();
        let vs2 = all_states::<f64>(n_v, vu).unwrap();
        let hs2 = all_states::<f64>(n_h, hu).unwrap();
        for (v, v2) in vs.rows().into_iter().zip(vs2.rows()) {
            for (h, h2) in hs.rows().into_iter().zip(hs2.rows()) {
                let p = (-rbm.energy(v, h).unwrap() - log_z).exp();
                let p2 = (-conv.energy(v2, h2).unwrap() - log_z_conv).exp();
                prop_assert!((p - p2).abs() < 1e-10, "{p} vs {p2}");
                let e_shift = rbm.energy(v, h).unwrap() - conv.energy(v2, h2).unwrap();
                prop_assert!((e_shift - offset).abs() < 1e-10);
            }
        }
        // Marginals and conditionals agree too.
        let f = rbm.free_energies(vs.view()).unwrap();
        let f2 = conv.free_energies(vs2.view()).unwrap();
        for (a, b) in f.iter().zip(&f2) {
            prop_assert!(((-a - log_z).exp() - (-b - log_z_conv).exp()).abs() < 1e-10);
        }
        let p = rbm.hidden_probabilities(vs.view()).unwrap();
        let p2 = conv.hidden_probabilities(vs2.view()).unwrap();
        for (a, b) in p.iter().zip(&p2) {
            prop_assert!((a - b).abs() < 1e-10);
        }
        // Converting back restores the model.
        let (back, offset_back) = conv.with_units(rbm.visible_units(), rbm.hidden_units());
        prop_assert!((offset + offset_back).abs() < 1e-10);
        for (a, b) in back.weights().iter().zip(rbm.weights()) {
            prop_assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn paper_convention_gives_the_same_energy(rbm in model()) {
        let paper = rbm.to_paper();
        let vs = all_states::<f64>(rbm.n_visible(), rbm.visible_units()).unwrap();
        let hs = all_states::<f64>(rbm.n_hidden(), rbm.hidden_units()).unwrap();
        for v in vs.rows() {
            for h in hs.rows() {
                // The paper's formula, written out term by term.
                let mut e = 0.0;
                for j in 0..h.len() {
                    e += paper.hidden_bias[j] * h[j];
                    for i in 0..v.len() {
                        e += v[i] * paper.weights[[i, j]] * h[j];
                    }
                }
                for i in 0..v.len() {
                    e += paper.visible_bias[i] * v[i];
                }
                prop_assert!((e - rbm.energy(v, h).unwrap()).abs() < 1e-12);
                prop_assert!((paper.energy(v, h).unwrap() - e).abs() < 1e-12);
            }
        }
        prop_assert_eq!(Rbm::from_paper(paper).unwrap(), rbm);
    }

    #[test]
    fn conditionals_match_ratios_of_joint_probabilities(rbm in model()) {
        let vs = all_states::<f64>(rbm.n_visible(), rbm.visible_units()).unwrap();
        let hs = all_states::<f64>(rbm.n_hidden(), rbm.hidden_units()).unwrap();
        let means = rbm.hidden_means(vs.view()).unwrap();
        let probs = rbm.hidden_probabilities(vs.view()).unwrap();
        for (k, v) in vs.rows().into_iter().enumerate() {
            let ws: Vec<f64> = hs.rows().into_iter().map(|h| (-rbm.energy(v, h).unwrap()).exp()).collect();
            let z: f64 = ws.iter().sum();
            for j in 0..rbm.n_hidden() {
                let m: f64 = hs.rows().into_iter().zip(&ws).map(|(h, w)| h[j] * w).sum::<f64>() / z;
                let p: f64 = hs.rows().into_iter().zip(&ws).filter(|(h, _)| h[j] == 1.0).map(|(_, w)| w).sum::<f64>() / z;
                prop_assert!((means[[k, j]] - m).abs() < 1e-12);
                prop_assert!((probs[[k, j]] - p).abs() < 1e-12);
            }
        }
        let vmeans = rbm.visible_means(hs.view()).unwrap();
        for (k, h) in hs.rows().into_iter().enumerate() {
            let ws: Vec<f64> = vs.rows().into_iter().map(|v| (-rbm.energy(v, h).unwrap()).exp()).collect();
            let z: f64 = ws.iter().sum();
            for i in 0..rbm.n_visible() {
                let m: f64 = vs.rows().into_iter().zip(&ws).map(|(v, w)| v[i] * w).sum::<f64>() / z;
                prop_assert!((vmeans[[k, i]] - m).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn decimation_rbm_reproduces_the_ring() {
    // docs/science.md §5: a ring of 8 spins with K = 1 as an RBM (4 hidden kept spins, 4 visible
    // removed ones, weights K to the two neighbours). Z_RBM = Z_8(K), and the hidden marginal
    // is the ring of 4 at K' = ½ ln cosh 2K.
    let k = 1.0f64;
    let n_h = 4;
    let mut w = Array2::zeros((n_h, n_h));
    for j in 0..n_h {
        // visible i sits between hidden i and hidden i+1
        w[[j, j]] = k;
        w[[j, (j + 1) % n_h]] = k;
    }
    let rbm = Rbm::new(w, Array1::zeros(n_h), Array1::zeros(n_h), Units::Spin, Units::Spin).unwrap();
    let z8 = (2.0 * k.cosh()).powi(8) + (2.0 * k.sinh()).powi(8);
    assert!((rbm.exact_log_partition().unwrap() - z8.ln()).abs() < 1e-12);
    let kp = 0.5 * (2.0 * k).cosh().ln();
    assert!((kp - 0.662_501_373_7).abs() < 1e-10);
    let hs = all_states::<f64>(n_h, Units::Spin).unwrap();
    let fh = rbm.hidden_free_energies(hs.view()).unwrap();
    // H^RBM(h) = -K' Σ h_j h_{j+1} - n_h ln(2 √cosh 2K)
    let c = n_h as f64 * (2.0 * (2.0 * k).cosh().sqrt()).ln();
    for (h, f) in hs.rows().into_iter().zip(&fh) {
        let bonds: f64 = (0..n_h).map(|j| h[j] * h[(j + 1) % n_h]).sum();
        assert!((f - (-kp * bonds - c)).abs() < 1e-12, "{f}");
    }
}

#[test]
fn bad_input_is_rejected_with_structured_errors() {
    use rbm_core::{validate_data, Error};
    let e =
        Rbm::<f64>::new(Array2::zeros((3, 2)), Array1::zeros(2), Array1::zeros(2), Units::Spin, Units::Spin);
    assert!(matches!(e, Err(Error::ShapeMismatch { expected: 3, found: 2, .. })));
    let mut w = Array2::zeros((3, 2));
    w[[1, 1]] = f64::NAN;
    let e = Rbm::<f64>::new(w, Array1::zeros(3), Array1::zeros(2), Units::Spin, Units::Spin);
    assert_eq!(e, Err(Error::NonFiniteParameter { name: "weights", index: 3 }));
    let e = Rbm::<f32>::zeros(0, 2, Units::Spin, Units::Spin);
    assert_eq!(e, Err(Error::EmptyLayer { layer: "visible" }));
    let d = ndarray::array![[1.0, -1.0], [1.0, 0.0]];
    assert!(matches!(
        validate_data(d.view(), 2, Units::Spin),
        Err(Error::InvalidUnitValue { row: 1, column: 1, .. })
    ));
    assert!(validate_data(d.view(), 2, Units::Binary).is_err());
    let d = ndarray::array![[1.0, f64::NAN]];
    assert_eq!(validate_data(d.view(), 2, Units::Binary), Err(Error::NonFiniteData { row: 0, column: 1 }));
    let d = Array2::<f64>::zeros((0, 2));
    assert_eq!(validate_data(d.view(), 2, Units::Binary), Err(Error::EmptyData));
    // Large contiguous data (the vectorised fast path, several chunks), f32 and a view that
    // is not contiguous: the first bad value is named wherever it is.
    let mut d = Array2::<f32>::from_shape_fn((100, 130), |(i, j)| if (i + j) % 3 == 0 { 1.0 } else { -1.0 });
    assert_eq!(validate_data(d.view(), 130, Units::Spin), Ok(()));
    assert!(validate_data(d.view(), 130, Units::Binary).is_err());
    d[[77, 31]] = 0.0;
    d[[90, 3]] = f32::NAN;
    assert!(matches!(
        validate_data(d.view(), 130, Units::Spin),
        Err(Error::InvalidUnitValue { row: 77, column: 31, .. })
    ));
    // The transposed view's row 3 (column 3 of d, holding the NaN) comes before its row 31.
    assert_eq!(validate_data(d.t(), 100, Units::Spin), Err(Error::NonFiniteData { row: 3, column: 90 }));
    d[[77, 31]] = 1.0;
    assert_eq!(validate_data(d.view(), 130, Units::Spin), Err(Error::NonFiniteData { row: 90, column: 3 }));
    let big = Rbm::<f64>::zeros(30, 25, Units::Spin, Units::Spin).unwrap();
    assert_eq!(big.exact_log_partition(), Err(Error::TooManyUnitsForExact { units: 25, max: 24 }));
    let rbm = Rbm::<f64>::zeros(3, 2, Units::Spin, Units::Spin).unwrap();
    assert!(rbm.energy(Array1::zeros(2).view(), Array1::zeros(2).view()).is_err());
}

#[test]
fn block_gibbs_sampling_reaches_the_exact_distribution() {
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;
    // 3 visible × 2 hidden, every unit combination, f32 sampling (the fast path) against
    // exact f64 probabilities of all 8 visible states: each frequency within 4σ.
    let w = ndarray::array![[0.8, -0.5], [0.3, 1.1], [-0.9, 0.4]];
    let a = ndarray::array![0.2, -0.4, 0.1];
    let b = ndarray::array![-0.3, 0.5];
    for vu in [Units::Spin, Units::Binary] {
        for hu in [Units::Spin, Units::Binary] {
            let rbm = Rbm::new(w.clone(), a.clone(), b.clone(), vu, hu).unwrap();
            let vs = all_states::<f64>(3, vu).unwrap();
            let log_z = rbm.exact_log_partition().unwrap();
            let p: Vec<f64> =
                rbm.free_energies(vs.view()).unwrap().iter().map(|f| (-f - log_z).exp()).collect();
            let chains = 20_000;
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
            let mut v = Array2::from_elem((chains, 3), vu.lower::<f32>());
            rbm.to_f32().gibbs(&mut v, 20, &mut rng).unwrap();
            let mut counts = [0usize; 8];
            for row in v.rows() {
                let k: usize = (0..3).map(|i| usize::from(row[i] == 1.0) << i).sum();
                counts[k] += 1;
            }
            for (k, &c) in counts.iter().enumerate() {
                let f = c as f64 / chains as f64;
                let sigma = (p[k] * (1.0 - p[k]) / chains as f64).sqrt();
                assert!((f - p[k]).abs() < 4.0 * sigma, "{vu}/{hu} state {k}: {f} vs {}", p[k]);
            }
        }
    }
    // Buffers of the wrong shape are errors, not panics.
    let rbm = Rbm::<f64>::zeros(3, 2, Units::Spin, Units::Spin).unwrap();
    let v = Array2::<f64>::ones((4, 3));
    let mut out = Array2::<f64>::zeros((4, 3));
    assert!(rbm.hidden_field_into(v.view(), out.view_mut()).is_err());
    let mut m = Array2::<f64>::zeros((4, 2));
    let mut s = Array2::<f64>::zeros((4, 2));
    let mut u = vec![0.0; 7];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    assert!(rbm.sample_hidden_into(v.view(), m.view_mut(), s.view_mut(), &mut u, &mut rng).is_err());
}

#[test]
fn pseudo_log_likelihood_uses_every_exact_conditional() {
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use rbm_core::monitor::{pseudo_log_likelihood, reconstruction_error};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    // 11 hidden units: only the f32 kernel's tail; 37 and 200: its 16 lanes and groups of 8
    // products; weights up to ±6: factors 1 + tanh·tanh near 0, recomputed term by term.
    let shapes = [(11, 1.0), (37, 1.0), (200, 1.0), (40, 6.0)];
    let kinds = [(Units::Spin, Units::Spin), (Units::Binary, Units::Binary), (Units::Binary, Units::Spin)];
    for ((vu, hu), (nh, scale)) in kinds.into_iter().flat_map(|k| shapes.map(|s| (k, s))) {
        let nv = 5;
        let w = Array2::from_shape_fn((nv, nh), |_| scale * rng.random_range(-1.0..1.0));
        let a = Array1::from_shape_fn(nv, |_| rng.random_range(-1.0..1.0));
        let b = Array1::from_shape_fn(nh, |_| rng.random_range(-1.0..1.0));
        let rbm = Rbm::new(w, a, b, vu, hu).unwrap();
        let data = Array2::from_shape_fn((13, nv), |_| vu.from_bit::<f64>(rng.random::<bool>()));
        // ln p(v_i | v_-i) = ln p(v) - ln(p(v) + p(v with unit i flipped)), from free energies.
        let mut expected = 0.0;
        for v in data.rows() {
            let f = rbm.free_energy(v).unwrap();
            for i in 0..nv {
                let mut flipped = v.to_owned();
                flipped[i] = if v[i] == 1.0 { vu.lower() } else { 1.0 };
                let ff = rbm.free_energy(flipped.view()).unwrap();
                expected += -f - ((-f).exp() + (-ff).exp()).ln();
            }
        }
        expected /= data.len() as f64;
        let pll = pseudo_log_likelihood(&rbm, data.view()).unwrap();
        assert!((pll - expected).abs() < 1e-12, "{pll} vs {expected}");
        let pll32 = pseudo_log_likelihood(&rbm.to_f32(), data.mapv(|x| x as f32).view()).unwrap();
        assert!(
            (pll32 - expected).abs() < 1e-5 * (1.0 + expected.abs()),
            "{nh} {scale}: {pll32} vs {expected}"
        );
        // Reconstruction error: mean of (v - ⟨v|⟨h|v⟩⟩)².
        let r = rbm.visible_means(rbm.hidden_means(data.view()).unwrap().view()).unwrap();
        let direct = (&data - &r).mapv(|x| x * x).mean().unwrap();
        assert!((reconstruction_error(&rbm, data.view()).unwrap() - direct).abs() < 1e-14);
    }
}
