//! Writes every kind of figure this crate draws into a directory, for looking at them:
//! `cargo run -p kadanoff-analysis --release --example gallery -- /tmp/gallery`.

use std::f64::consts::PI;

use kadanoff_analysis::fields::receptive_fields;
use kadanoff_analysis::image::{
    field_grid_png, reconstruction_grid_png, spin_grid_png, GridLayout, Normalization,
};
use kadanoff_analysis::plot::{rg_flow, training_curves, LinePlot, Series, SeriesStyle};
use ndarray::Array2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/tmp/gallery".into()));
    std::fs::create_dir_all(&dir)?;
    let l = 16;
    // Layer 1: 64 Gaussian blobs of width 1.5 on an 8×8 grid of centres; layer 2: 16 units, each the sum of
    // a 2×2 block of layer-1 units with alternating signs.
    let w1 = Array2::from_shape_fn((l * l, 64), |(s, j)| {
        let (r, c) = ((s / l) as f64, (s % l) as f64);
        let (cr, cc) = ((j / 8) as f64 * 2.0 + 0.5, (j % 8) as f64 * 2.0 + 0.5);
        let sign = if (j + j / 8) % 2 == 0 { 1.0 } else { -0.7 };
        sign * (-((r - cr).powi(2) + (c - cc).powi(2)) / (2.0 * 1.5 * 1.5)).exp()
    });
    let w2 = Array2::from_shape_fn((64, 16), |(i, j)| {
        let (ir, ic) = (i / 8, i % 8);
        if ir / 2 == j / 4 && ic / 2 == j % 4 {
            1.0
        } else {
            0.0
        }
    });
    let fields = receptive_fields(&[w1.view(), w2.view()])?;
    for (k, f) in fields.iter().enumerate() {
        for (norm, name) in [(Normalization::Shared, "shared"), (Normalization::PerTile, "tile")] {
            let grid = field_grid_png(f.view(), &GridLayout { side: l, scale: 4, columns: None }, norm)?;
            std::fs::write(dir.join(format!("fields-{}-{name}.png", k + 1)), &grid.png)?;
            println!("fields {} {name}: {}x{} {}", k + 1, grid.width, grid.height, grid.scale_caption());
        }
    }
    // Spins: stripes and checkerboards.
    let spins = Array2::from_shape_fn((6, l * l), |(k, s)| {
        let (r, c) = (s / l, s % l);
        if (r / (k + 1) + c / (k + 2)) % 2 == 0 {
            1i8
        } else {
            -1
        }
    });
    std::fs::write(
        dir.join("spins.png"),
        spin_grid_png(spins.view(), &GridLayout { side: l, scale: 3, columns: Some(3) })?,
    )?;
    let rec1 = spins.mapv(|s| if s > 0 { 0.8 } else { 0.15 });
    let rec2 = Array2::from_shape_fn(spins.dim(), |(k, s)| 0.5 + 0.4 * ((s as f64 + k as f64) * 0.3).sin());
    std::fs::write(
        dir.join("reconstructions.png"),
        reconstruction_grid_png(spins.view(), &[rec1.view(), rec2.view()], l, 3)?,
    )?;
    // Plots.
    let curves = vec![
        (
            "layer 1 (1600→400)".to_string(),
            (0..50).map(|e| 0.3 * (-(e as f64) / 10.0).exp() + 0.05).collect(),
        ),
        ("layer 2 (400→100)".to_string(), (0..50).map(|e| 0.2 * (-(e as f64) / 15.0).exp() + 0.08).collect()),
    ];
    std::fs::write(
        dir.join("training.svg"),
        training_curves("Reconstruction error", "mean squared error per unit", &curves).to_svg()?,
    )?;
    let flows: Vec<Vec<f64>> = [1.0, 1.5, 2.0]
        .iter()
        .map(|&k0: &f64| {
            let mut v = vec![k0];
            for _ in 0..6 {
                let t = v.last().unwrap().tanh();
                v.push((t * t).atanh());
            }
            v
        })
        .collect();
    std::fs::write(dir.join("flow.svg"), rg_flow(&flows).to_svg()?)?;
    let mut g =
        LinePlot::new("Correlation function G(r)", "distance r (lattice spacings)", "G(r) = <s_0 s_r>");
    g.log_y = true;
    let exact: Vec<(f64, f64)> =
        (0..=20).map(|r| (r as f64, (0.9f64).powi(r) + 0.01 * (PI * r as f64).cos())).collect();
    g.series.push(Series::new("exact", exact.clone(), SeriesStyle::Dashed));
    g.series.push(Series::with_errors(
        "Monte Carlo",
        exact.iter().map(|&(r, y)| (r, y * 1.02 - 0.02)).collect(),
        exact.iter().map(|&(_, y)| 0.05 * y).collect(),
        SeriesStyle::Markers,
    ));
    std::fs::write(dir.join("g.svg"), g.to_svg()?)?;
    Ok(())
}
