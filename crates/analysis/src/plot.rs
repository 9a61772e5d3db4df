//! SVG line plots (plotters' SVG backend) with a title, axis labels, a legend, several series,
//! optional error bars and an optional logarithmic y axis.
//!
//! No font is loaded: plotters is built without its `ttf`/`ab_glyph` features, lays text out with a
//! character-count estimate, and the SVG backend writes every string as an SVG `<text>` element in the
//! generic `sans-serif` family, which any browser or SVG viewer renders with its own fonts.
//! Tick labels use at most three significant digits.
//!
//! Colours come from a fixed palette in series order (the Tableau 10 colours), so the same plot
//! specification always yields the same SVG string.

use std::ops::Range;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::error::{Error, Result};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// A solid polyline through the points.
    Line,
    /// A dashed polyline (for exact or reference curves).
    Dashed,
    /// Filled circles at the points, no line.
    Markers,
    /// A solid polyline with filled circles at the points.
    LineAndMarkers,
}

/// One curve of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub label: String,
    /// Points `(x, y)`, drawn in the given order.
    pub points: Vec<(f64, f64)>,
    /// Optional symmetric error bars, one half-width (≥ 0) per point.
    pub errors: Option<Vec<f64>>,
    /// Line and marker style.
    pub style: SeriesStyle,
}

impl Series {
    /// A series without error bars.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, style: SeriesStyle) -> Self {
        Series { label: label.into(), points, errors: None, style }
    }

    /// A series with symmetric error bars (`errors[i]` is the half-width at `points[i]`).
    pub fn with_errors(
        label: impl Into<String>,
        points: Vec<(f64, f64)>,
        errors: Vec<f64>,
        style: SeriesStyle,
    ) -> Self {
        Series { label: label.into(), points, errors: Some(errors), style }
    }
}

/// Corner of the plotting area where the legend box goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendPosition {
    /// Top right corner.
    UpperRight,
    /// Top left corner.
    UpperLeft,
    /// Bottom right corner.
    LowerRight,
    /// Bottom left corner.
    LowerLeft,
}

/// A complete line-plot specification; [`LinePlot::to_svg`] renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// Label of the x axis, with units (e.g. `"distance r (lattice spacings)"`).
    pub x_label: String,
    /// Label of the y axis, with units.
    pub y_label: String,
    /// Logarithmic y axis. Points whose `y ≤ 0` cannot be drawn on it: they are left out, and a note
    /// under the plot says how many.
    pub log_y: bool,
    /// The curves, drawn in order with palette colours `0, 1, 2, …`.
    pub series: Vec<Series>,
    /// Where the legend goes.
    pub legend: LegendPosition,
    /// Width in pixels (200 to 4000).
    pub width: u32,
    /// Height in pixels (150 to 4000).
    pub height: u32,
}

/// The Tableau 10 palette.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A tick label with at most three significant digits and no trailing zeros (`0.25`, `1e-5`, `1200`).
pub fn tick_label(x: f64) -> String {
    let s = crate::raster::format_number(x);
    let (mantissa, exponent) = match s.find('e') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.as_str(), ""),
    };
    let mantissa =
        if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
    let mantissa = if mantissa == "-0" { "0" } else { mantissa };
    format!("{mantissa}{exponent}")
}

impl LinePlot {
    /// A plot with no series, a linear y axis, the legend at the upper right, 640×420 pixels.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_y: false,
            series: Vec::new(),
            legend: LegendPosition::UpperRight,
            width: 640,
            height: 420,
        }
    }

    fn validate(&self) -> Result<()> {
        if !(200..=4000).contains(&self.width) {
            return Err(Error::BadParameter {
                name: "width",
                value: self.width as usize,
                reason: "must be 200 to 4000 pixels",
            });
        }
        if !(150..=4000).contains(&self.height) {
            return Err(Error::BadParameter {
                name: "height",
                value: self.height as usize,
                reason: "must be 150 to 4000 pixels",
            });
        }
        if self.series.iter().all(|s| s.points.is_empty()) {
            return Err(Error::Empty { what: "plot series" });
        }
        for s in &self.series {
            if let Some(index) = s.points.iter().position(|&(x, y)| !x.is_finite() || !y.is_finite()) {
                return Err(Error::NonFinite { what: "plot points", index });
            }
            if let Some(errors) = &s.errors {
                if errors.len() != s.points.len() {
                    return Err(Error::Shape {
                        what: "error bars",
                        got: vec![errors.len()],
                        expected: format!("one per point ({})", s.points.len()),
                    });
                }
                if let Some(index) = errors.iter().position(|e| !e.is_finite() || *e < 0.0) {
                    return Err(Error::OutOfRange {
                        what: "error bars",
                        index,
                        value: errors[index],
                        allowed: "finite and ≥ 0",
                    });
                }
            }
        }
        Ok(())
    }

    /// Points that can be drawn, with their error half-widths (0 without error bars).
    fn drawable(&self, s: &Series) -> Vec<(f64, f64, f64)> {
        s.points
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| (x, y, s.errors.as_ref().map_or(0.0, |e| e[i])))
            .filter(|&(_, y, _)| !self.log_y || y > 0.0)
            .collect()
    }

    fn ranges(&self) -> (Range<f64>, Range<f64>, usize) {
        let mut x = (f64::INFINITY, f64::NEG_INFINITY);
        let mut y = (f64::INFINITY, f64::NEG_INFINITY);
        let mut omitted = 0;
        for s in &self.series {
            let pts = self.drawable(s);
            omitted += s.points.len() - pts.len();
            for (px, py, e) in pts {
                x = (x.0.min(px), x.1.max(px));
                let lo = if self.log_y && py - e <= 0.0 { py } else { py - e };
                y = (y.0.min(lo), y.1.max(py + e));
            }
        }
        if !x.0.is_finite() {
            // Nothing drawable (every point non-positive on a log axis).
            return (0.0..1.0, 0.1..1.0, omitted);
        }
        let xr = if x.1 > x.0 { x.0..x.1 } else { x.0 - 0.5..x.1 + 0.5 };
        let yr = if self.log_y {
            let (lo, hi) = (y.0.ln(), y.1.ln());
            let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
            (lo - pad).exp()..(hi + pad).exp()
        } else if y.1 > y.0 {
            let pad = 0.05 * (y.1 - y.0);
            y.0 - pad..y.1 + pad
        } else {
            let pad = if y.0 == 0.0 { 1.0 } else { 0.1 * y.0.abs() };
            y.0 - pad..y.1 + pad
        };
        (xr, yr, omitted)
    }

    /// Renders the plot as a standalone SVG document (`<svg …>…</svg>`).
    ///
    /// # Errors
    /// Bad size, no points at all, non-finite points, error bars of the wrong length or negative, or a
    /// failure inside plotters.
    pub fn to_svg(&self) -> Result<String> {
        self.validate()?;
        let (xr, yr, omitted) = self.ranges();
        let mut svg = String::new();
        if self.log_y {
            let (bold, light) = log_key_points(yr.start, yr.end);
            self.draw(&mut svg, xr, yr.log_scale().with_key_points(bold).with_light_points(light), omitted)?;
        } else {
            self.draw(&mut svg, xr, yr, omitted)?;
        }
        Ok(svg)
    }

    fn draw<Y>(&self, out: &mut String, xr: Range<f64>, y_spec: Y, omitted: usize) -> Result<()>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let backend = |e: &dyn std::fmt::Display| Error::Backend { message: e.to_string() };
        let root = SVGBackend::with_string(out, (self.width, self.height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| backend(&e))?;
        let root = if omitted > 0 {
            let note = format!(
                "{omitted} point{} with y ≤ 0 not shown on the logarithmic axis",
                if omitted == 1 { "" } else { "s" }
            );
            root.draw(&Text::new(note, (10, self.height as i32 - 16), ("sans-serif", 15).into_font()))
                .map_err(|e| backend(&e))?;
            root.margin(0, 16, 0, 0)
        } else {
            root
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 24).into_font())
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d::<Range<f64>, Y>(xr, y_spec)
            .map_err(|e| backend(&e))?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 15))
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| backend(&e))?;

        for (k, s) in self.series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let pts = self.drawable(s);
            let xy: Vec<(f64, f64)> = pts.iter().map(|&(x, y, _)| (x, y)).collect();
            if s.errors.is_some() {
                chart
                    .draw_series(pts.iter().filter(|p| p.2 > 0.0).map(|&(x, y, e)| {
                        let lo = if self.log_y && y - e <= 0.0 { y } else { y - e };
                        ErrorBar::new_vertical(x, lo, y, y + e, colour.stroke_width(1), 6)
                    }))
                    .map_err(|e| backend(&e))?;
            }
            let legend_style = s.style;
            let anno = match s.style {
                SeriesStyle::Line | SeriesStyle::LineAndMarkers => chart
                    .draw_series(LineSeries::new(xy.clone(), colour.stroke_width(2)))
                    .map_err(|e| backend(&e))?,
                SeriesStyle::Dashed => chart
                    .draw_series(DashedLineSeries::new(xy.clone(), 6, 4, colour.stroke_width(2)))
                    .map_err(|e| backend(&e))?,
                SeriesStyle::Markers => chart
                    .draw_series(xy.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                    .map_err(|e| backend(&e))?,
            };
            // Legend sample: a 20-pixel line (solid or dashed) and/or a marker.
            let line = colour.stroke_width(2);
            let segments: [Vec<(i32, i32)>; 3] = match legend_style {
                SeriesStyle::Line | SeriesStyle::LineAndMarkers => [vec![(0, 0), (20, 0)], vec![], vec![]],
                SeriesStyle::Dashed => [vec![(0, 0), (5, 0)], vec![(8, 0), (12, 0)], vec![(15, 0), (20, 0)]],
                SeriesStyle::Markers => [vec![], vec![], vec![]],
            };
            let radius = if matches!(legend_style, SeriesStyle::Markers | SeriesStyle::LineAndMarkers) {
                3
            } else {
                0
            };
            anno.label(s.label.as_str()).legend(move |(x, y)| {
                let [a, b, c] = segments.clone();
                EmptyElement::at((x, y))
                    + PathElement::new(a, line)
                    + PathElement::new(b, line)
                    + PathElement::new(c, line)
                    + Circle::new((10, 0), radius, colour.filled())
            });
            if s.style == SeriesStyle::LineAndMarkers {
                chart
                    .draw_series(xy.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                    .map_err(|e| backend(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .position(match self.legend {
                LegendPosition::UpperRight => SeriesLabelPosition::UpperRight,
                LegendPosition::UpperLeft => SeriesLabelPosition::UpperLeft,
                LegendPosition::LowerRight => SeriesLabelPosition::LowerRight,
                LegendPosition::LowerLeft => SeriesLabelPosition::LowerLeft,
            })
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(|e| backend(&e))?;
        root.present().map_err(|e| backend(&e))?;
        Ok(())
    }
}

/// Tick positions of a logarithmic axis on `[lo, hi]` (`0 < lo < hi`): labelled ticks at the powers
/// of ten, or at 1-2-5 multiples when fewer than three decades are visible (every integer multiple when
/// less than one is), and light grid lines at every integer multiple of each power of ten.
fn log_key_points(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let decades = (hi / lo).log10();
    let mantissas: &[f64] = if decades < 1.0 {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    } else if decades < 3.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    // Skip decades when there are too many to label (at most about 10 labels).
    let step = (decades / 10.0).ceil().max(1.0) as i32;
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let mut bold = Vec::new();
    let mut light = Vec::new();
    for e in first..=last {
        let p = 10f64.powi(e);
        for m in 1..=9 {
            let v = f64::from(m) * p;
            if v >= lo && v <= hi {
                if (e - first) % step == 0 && mantissas.contains(&f64::from(m)) {
                    bold.push(v);
                }
                if decades <= 8.0 || m == 1 {
                    light.push(v);
                }
            }
        }
    }
    (bold, light)
}

/// Shorthand for one plot per metric with one series per DBN layer: `curves[ℓ]` is
/// `(label, values by epoch)`, plotted against epochs `1, 2, …`.
pub fn training_curves(title: &str, y_label: &str, curves: &[(String, Vec<f64>)]) -> LinePlot {
    let mut plot = LinePlot::new(title, "epoch", y_label);
    for (label, values) in curves {
        let points = values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v)).collect();
        plot.series.push(Series::new(label.clone(), points, SeriesStyle::Line));
    }
    plot
}

/// Shorthand for the exact 1D decimation flow: one series per starting coupling, `K_n` against `n`
/// (`flows[k]` is `K_0, K_1, …`), on a logarithmic y axis since the flow to `K* = 0` is fast.
pub fn rg_flow(flows: &[Vec<f64>]) -> LinePlot {
    let mut plot = LinePlot::new(
        "Exact 1D decimation RG: tanh K' = tanh² K",
        "RG step n",
        "coupling K_n = βJ (dimensionless)",
    );
    plot.log_y = true;
    // An empty flow has no starting coupling and nothing to draw: it is skipped, not labelled NaN.
    for flow in flows.iter().filter(|f| !f.is_empty()) {
        let label = format!("K_0 = {}", tick_label(flow[0]));
        let points = flow.iter().enumerate().map(|(n, &k)| (n as f64, k)).collect();
        plot.series.push(Series::new(label, points, SeriesStyle::LineAndMarkers));
    }
    plot.legend = LegendPosition::LowerLeft;
    plot
}

/// One curve of a correlation-function plot: `G(r)` at distances `r` with optional error bars.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationCurve {
    /// Legend entry (the data source).
    pub label: String,
    /// `(r, G(r))` points.
    pub points: Vec<(f64, f64)>,
    /// Standard errors of `G(r)`, one per point; `None` for exact curves, which are drawn dashed.
    pub errors: Option<Vec<f64>>,
}

impl CorrelationCurve {
    /// The measured `G(r)`, `r = 0 … ⌊L/2⌋`, of `lattice_physics::observables::correlations`.
    pub fn measured(label: impl Into<String>, c: &lattice_physics::observables::Correlations) -> Self {
        CorrelationCurve {
            label: label.into(),
            points: c.g.iter().enumerate().map(|(r, e)| (r as f64, e.mean)).collect(),
            errors: Some(c.g.iter().map(|e| e.stderr).collect()),
        }
    }
}

/// Shorthand for `G(r) = ⟨s_0 s_r⟩` against distance from several data sources; measured curves
/// (with errors) are drawn as markers with error bars, exact ones as dashed lines.
/// On a logarithmic axis (`log_y`) points with `G ≤ 0` are left out and counted under the plot.
pub fn correlation_function(title: &str, curves: &[CorrelationCurve], log_y: bool) -> LinePlot {
    let mut plot = LinePlot::new(title, "distance r (lattice spacings)", "G(r) = <s_0 s_r>");
    plot.log_y = log_y;
    for c in curves {
        plot.series.push(match &c.errors {
            Some(e) => {
                Series::with_errors(c.label.clone(), c.points.clone(), e.clone(), SeriesStyle::LineAndMarkers)
            }
            None => Series::new(c.label.clone(), c.points.clone(), SeriesStyle::Dashed),
        });
    }
    plot
}
