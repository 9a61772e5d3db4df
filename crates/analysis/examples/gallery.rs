//! Writes every kind of figure this crate draws, and a report embedding them, into a directory, for
//! looking at them: `cargo run -p kadanoff-analysis --release --example gallery -- /tmp/gallery`.
//! The data are synthetic (Gaussian blobs, stripes), shaped like the paper's 1600 → 400 → 100 → 25 DBN.

use kadanoff_analysis::fields::{field_radii, receptive_fields};
use kadanoff_analysis::image::{
    field_grid_png, reconstruction_grid_png, spin_grid_png, GridLayout, Normalization,
};
use kadanoff_analysis::plot::{correlation_function, rg_flow, training_curves, CorrelationCurve};
use kadanoff_analysis::report::{Figure, Report, Section};
use kadanoff_analysis::table::{ComparisonTable, DataSource, Value};
use ndarray::Array2;

/// Weights from an `n×n` grid of units below to an `(n/2)×(n/2)` grid above: each upper unit sums a
/// 2×2 block of lower units.
fn pool(n: usize) -> Array2<f32> {
    let m = n / 2;
    Array2::from_shape_fn((n * n, m * m), |(i, j)| {
        let (ir, ic, jr, jc) = (i / n, i % n, j / m, j % m);
        if ir / 2 == jr && ic / 2 == jc {
            0.5
        } else {
            0.0
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/tmp/gallery".into()));
    std::fs::create_dir_all(&dir)?;
    let l = 40;
    // Layer 1: 400 Gaussian blobs (width 1) centred on a 20×20 grid, with random-looking signs.
    let w1 = Array2::from_shape_fn((l * l, 400), |(s, j)| {
        let (r, c) = ((s / l) as f32, (s % l) as f32);
        let (cr, cc) = ((j / 20) as f32 * 2.0 + 0.5, (j % 20) as f32 * 2.0 + 0.5);
        let sign = if (j * 7919) % 13 < 9 { 1.0 } else { -1.0 };
        sign * (-((r - cr).powi(2) + (c - cc).powi(2)) / 2.0).exp()
    });
    let (w2, w3) = (pool(20), Array2::from_shape_fn((100, 25), |(i, j)| pool(10)[[i, j]]));
    let fields = receptive_fields(&[w1.view(), w2.view(), w3.view()])?;
    let mut section = Section::new("Receptive fields");
    for (k, f) in fields.iter().enumerate() {
        let radii = field_radii(f.view(), l)?;
        let mean = radii.iter().sum::<f64>() / radii.len() as f64;
        let grid = field_grid_png(
            f.view(),
            &GridLayout { side: l, scale: 2, columns: None },
            Normalization::PerTile,
        )?;
        std::fs::write(dir.join(format!("fields-{}.png", k + 1)), &grid.png)?;
        println!(
            "layer {}: {}x{} px, mean radius {mean:.3}; {}",
            k + 1,
            grid.width,
            grid.height,
            grid.scale_caption()
        );
        section.figure(Figure::png(
            format!("fields-{}", k + 1),
            format!(
                "Layer {} fields (mean radius {mean:.2} lattice spacings). {}",
                k + 1,
                grid.scale_caption()
            ),
            grid.png,
        ));
    }
    let spins = Array2::from_shape_fn((8, l * l), |(k, s)| {
        let (r, c) = (s / l, s % l);
        if (r / (k + 2) + c / (k + 3)) % 2 == 0 {
            1i8
        } else {
            -1
        }
    });
    let spin_png = spin_grid_png(spins.view(), &GridLayout { side: l, scale: 2, columns: Some(4) })?;
    std::fs::write(dir.join("spins.png"), &spin_png)?;
    section.figure(Figure::png("spins", "Configurations: +1 white, -1 black.", spin_png));
    let recs: Vec<Array2<f32>> = (1..=3)
        .map(|d| {
            let a = 0.5 - 0.15 * d as f32;
            spins.mapv(|s| if s > 0 { 1.0 - a } else { a })
        })
        .collect();
    let views: Vec<_> = recs.iter().map(|r| r.view()).collect();
    let rec_png = reconstruction_grid_png(spins.view(), &views, l, 2)?;
    std::fs::write(dir.join("reconstructions.png"), &rec_png)?;
    section.figure(Figure::png(
        "reconstructions",
        "Originals (0) and reconstructions at depth 1-3.",
        rec_png,
    ));

    let mut plots = Section::new("Plots");
    let curves = vec![
        (
            "layer 1 (1600→400)".to_string(),
            (0..50).map(|e| 0.3 * (-(e as f64) / 10.0).exp() + 0.05).collect(),
        ),
        ("layer 2 (400→100)".to_string(), (0..50).map(|e| 0.2 * (-(e as f64) / 15.0).exp() + 0.08).collect()),
    ];
    let svg = training_curves("Reconstruction error", "mean squared error per unit", &curves).to_svg()?;
    std::fs::write(dir.join("training.svg"), &svg)?;
    plots.figure(Figure::svg("training", "Training curves.", svg));
    let flows: Vec<Vec<f64>> = [1.0f64, 1.5, 2.0]
        .iter()
        .map(|&k0| {
            let mut v = vec![k0];
            for _ in 0..6 {
                let t = v[v.len() - 1].tanh();
                v.push((t * t).atanh());
            }
            v
        })
        .collect();
    let svg = rg_flow(&flows).to_svg()?;
    std::fs::write(dir.join("flow.svg"), &svg)?;
    plots.figure(Figure::svg("flow", "Exact 1D flow.", svg));
    let exact: Vec<(f64, f64)> = (0..=20).map(|r| (r as f64, 0.85f64.powi(r))).collect();
    let curves = [
        CorrelationCurve { label: "exact".into(), points: exact.clone(), errors: None },
        CorrelationCurve {
            label: "Monte Carlo".into(),
            points: exact.iter().map(|&(r, g)| (r, g * 1.03 - 0.02)).collect(),
            errors: Some(exact.iter().map(|&(_, g)| 0.03 * g + 0.005).collect()),
        },
    ];
    let svg = correlation_function("Correlation function, L = 40, K = 0.408", &curves, true).to_svg()?;
    std::fs::write(dir.join("g.svg"), &svg)?;
    plots.figure(Figure::svg("g", "G(r).", svg));

    let mut table = ComparisonTable::new(
        "L = 40, K = 0.408",
        vec!["energy per site e".into(), "|m|".into(), "specific heat per site c".into()],
    );
    table.push_row(
        DataSource::Exact,
        vec![Some(Value::exact(-1.151_821_150_8)), None, Some(Value::exact(0.994_670_474_7))],
    )?;
    table.push_row(
        DataSource::MonteCarlo,
        vec![
            Some(Value::estimate(-1.1512, 0.0011)),
            Some(Value::estimate(0.1234, 0.0021)),
            Some(Value::estimate(0.99, 0.02)),
        ],
    )?;
    table.push_row(
        DataSource::Reconstructions { depth: 1 },
        vec![Some(Value::estimate(-1.23, 0.004)), None, None],
    )?;
    table.reference = Some(0);
    println!("{}", table.to_text()?);
    plots.table(table);
    plots.key_values(
        "Run",
        vec![("seed".into(), "42".into()), ("tool version".into(), "kadanoff 0.1.0".into())],
    );
    let mut report = Report::new("kadanoff-analysis gallery");
    report.push(section).push(plots);
    std::fs::write(dir.join("report.html"), report.to_html()?)?;
    Ok(())
}
