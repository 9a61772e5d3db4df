//! SVG line plots carry their text as `<text>` elements (no font needed), and honour their options.

use kadanoff_analysis::plot::{rg_flow, tick_label, training_curves, LinePlot, Series, SeriesStyle};
use kadanoff_analysis::Error;

/// The text content of every `<text>` element, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].trim().to_string())
        .collect()
}

fn two_series() -> LinePlot {
    let mut plot = LinePlot::new("G(r) <test> & more", "distance r (lattice spacings)", "G(r)");
    plot.series.push(Series::new(
        "exact",
        (0..10).map(|r| (r as f64, 0.8f64.powi(r))).collect(),
        SeriesStyle::Dashed,
    ));
    plot.series.push(Series::with_errors(
        "Monte Carlo",
        (0..10).map(|r| (r as f64, 0.8f64.powi(r) + 0.01)).collect(),
        vec![0.02; 10],
        SeriesStyle::Markers,
    ));
    plot
}

#[test]
fn text_is_svg_text_elements() {
    let svg = two_series().to_svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let t = texts(&svg);
    for expected in
        ["G(r) &lt;test&gt; &amp; more", "distance r (lattice spacings)", "G(r)", "exact", "Monte Carlo"]
    {
        assert!(t.iter().any(|s| s == expected), "missing text {expected:?} in {t:?}");
    }
    assert!(svg.contains("font-family=\"sans-serif\""));
    // Tick labels: the x axis spans 0..9, so "0" and some even number appear.
    assert!(t.iter().any(|s| s == "0") && t.iter().any(|s| s == "4" || s == "5"), "{t:?}");
}

#[test]
fn error_bars_and_markers_are_drawn() {
    let svg = two_series().to_svg().unwrap();
    // Series 1 is drawn in the second palette colour, #FF7F0E: ten markers ...
    let circles = svg.matches("<circle").count();
    assert!(circles >= 10, "{circles} circles");
    // ... and ten error bars, each a vertical line and two caps in that colour.
    let orange_lines =
        svg.split("<line").skip(1).filter(|l| l.split("/>").next().unwrap().contains("#FF7F0E")).count();
    assert_eq!(orange_lines, 30, "error-bar lines");
    // Without error bars there are no such lines.
    let mut plain = two_series();
    plain.series[1].errors = None;
    let svg = plain.to_svg().unwrap();
    let orange_lines =
        svg.split("<line").skip(1).filter(|l| l.split("/>").next().unwrap().contains("#FF7F0E")).count();
    assert_eq!(orange_lines, 0);
}

#[test]
fn log_axis_omits_non_positive_points_and_says_so() {
    let mut plot = two_series();
    plot.log_y = true;
    plot.series[0].points[3].1 = 0.0;
    plot.series[0].points[4].1 = -0.1;
    let svg = plot.to_svg().unwrap();
    let t = texts(&svg);
    assert!(t.iter().any(|s| s.starts_with("2 points with y ≤ 0 not shown")), "{t:?}");
    // Decade labels of a log axis over 0.13..1.
    assert!(t.iter().any(|s| s == "1") && t.iter().any(|s| s == "0.2"), "{t:?}");
}

#[test]
fn flow_plot_spans_decades() {
    // The exact flow from K_0 = 1 (docs/science.md §5) falls below 1e-3 in five steps.
    let flow = vec![1.0, 0.662_501_373_7, 0.350_061_138_9, 0.113_672_067_5, 0.012_811_542_0, 0.000_164_117_7];
    let svg = rg_flow(&[flow]).to_svg().unwrap();
    let t = texts(&svg);
    assert!(t.iter().any(|s| s == "K_0 = 1"), "{t:?}");
    assert!(t.iter().any(|s| s == "1e-3") && t.iter().any(|s| s == "0.1"), "{t:?}");
}

#[test]
fn training_curve_labels() {
    let curves = vec![("layer 1".to_string(), vec![0.3, 0.2, 0.15]), ("layer 2".to_string(), vec![0.4, 0.3])];
    let svg = training_curves("Reconstruction error", "error per unit", &curves).to_svg().unwrap();
    let t = texts(&svg);
    for s in ["Reconstruction error", "epoch", "error per unit", "layer 1", "layer 2"] {
        assert!(t.iter().any(|x| x == s), "{s}");
    }
}

#[test]
fn output_is_deterministic() {
    assert_eq!(two_series().to_svg().unwrap(), two_series().to_svg().unwrap());
}

#[test]
fn bad_plots_are_errors() {
    let empty = LinePlot::new("t", "x", "y");
    assert_eq!(empty.to_svg(), Err(Error::Empty { what: "plot series" }));
    let mut nan = two_series();
    nan.series[0].points[2].0 = f64::NAN;
    assert!(matches!(nan.to_svg(), Err(Error::NonFinite { index: 2, .. })));
    let mut short = two_series();
    short.series[1].errors = Some(vec![0.1; 3]);
    assert!(matches!(short.to_svg(), Err(Error::Shape { .. })));
    let mut negative = two_series();
    negative.series[1].errors.as_mut().unwrap()[0] = -1.0;
    assert!(negative.to_svg().is_err());
}

#[test]
fn tick_labels() {
    assert_eq!(tick_label(0.25), "0.25");
    assert_eq!(tick_label(0.1 + 0.2), "0.3");
    assert_eq!(tick_label(1e-5), "1e-5");
    assert_eq!(tick_label(1200.0), "1200");
    assert_eq!(tick_label(-0.0), "0");
    assert_eq!(tick_label(2.0), "2");
}
