//! # kadanoff-analysis
//!
//! Receptive fields, comparison tables, figures and self-contained HTML reports built from what the
//! other kadanoff crates produce. The crate draws into memory only: every figure comes back as bytes
//! (PNG) or a string (SVG, HTML), and writing files is the caller's job.
//!
//! Core pieces:
//! - [`fields::receptive_fields`]: the products `W1 W2 … Wℓ` of a DBN's weight matrices, and
//!   [`fields::field_radii`], their size in lattice spacings.
//! - [`image`]: PNG grids of fields (diverging colour map with a colour bar), of ±1 configurations,
//!   and of originals beside reconstructions.
//! - [`plot::LinePlot`]: SVG line plots with titles, axis labels, legends, error bars and log axes,
//!   drawn without any system font.
//! - [`table::ComparisonTable`] and [`report::Report`]: tables of observables with error bars, and an
//!   HTML report with every figure embedded and no network reference.
//! - [`study`]: the whole Mehta–Schwab study as typed steps ([`study::StudyConfig`],
//!   [`study::sample()`], [`study::train()`], [`study::analyse()`], [`study::rg1d()`],
//!   [`study::build_report()`]); see `examples/quick_study.rs`.
//!
//! ```
//! use kadanoff_analysis::fields::receptive_fields;
//! use kadanoff_analysis::image::{field_grid_png, GridLayout, Normalization};
//! use kadanoff_analysis::report::{Figure, Report, Section};
//! use ndarray::Array2;
//!
//! // A 16-site (4×4) data layer, 4 units above it, then 2 units.
//! let w1 = Array2::from_shape_fn((16, 4), |(i, j)| if i / 4 == j { 1.0_f32 } else { 0.0 });
//! let w2 = Array2::from_shape_fn((4, 2), |(i, j)| if i / 2 == j { 0.5_f32 } else { 0.0 });
//! let fields = receptive_fields(&[w1.view(), w2.view()])?;
//! let layout = GridLayout { side: 4, scale: 8, columns: None };
//! let grid = field_grid_png(fields[1].view(), &layout, Normalization::Shared)?;
//!
//! let mut section = Section::new("Receptive fields");
//! section.paragraph(&grid.scale_caption());
//! section.figure(Figure::png("fields-2", "Layer 2 receptive fields.", grid.png));
//! let mut report = Report::new("Example");
//! report.push(section);
//! let html = report.to_html()?;
//! assert!(html.contains("data:image/png;base64,"));
//! # Ok::<(), kadanoff_analysis::Error>(())
//! ```

pub mod base64;
pub mod campaign;
pub mod error;
pub mod fields;
pub mod image;
pub mod plot;
mod raster;
pub mod rbm_flow_report;
pub mod report;
pub mod study;
pub mod table;

pub use error::{Error, Result};
pub use raster::format_number;
