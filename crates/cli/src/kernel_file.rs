//! Kernel files and kernel specifications for `rg assess`: the built-in rules by name, a learned
//! convolutional kernel (`rg train-kernel`), an RSMI filter (`kadanoff rsmi`), or a dense model
//! layer (`.safetensors`). Files are JSON read into typed structs (never by string key); each
//! names its `kind` and `format_version`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use lattice_physics::Lattice;
use rg_transforms::coarse::dense::{DenseKernel, Placement};
use rg_transforms::coarse::learned::{ConvFilter, ConvKernel};
use rg_transforms::coarse::rsmi::RsmiKernel;
use rg_transforms::coarse::{AnyKernel, BlockSpin, Decimation, Majority};
use serde::{Deserialize, Serialize};

/// The learned-kernel file format (`rg train-kernel`).
pub const CONV_KIND: &str = "kadanoff.conv_kernel";
/// Its version.
pub const CONV_FORMAT: u64 = 1;
/// The RSMI filter file format (`kadanoff rsmi`).
pub const RSMI_KIND: &str = "kadanoff.rsmi_kernel";
/// Its version.
pub const RSMI_FORMAT: u64 = 1;

/// Largest kernel file read (a filter is a few numbers; anything larger is not a kernel file).

#[derive(Deserialize)]
struct Header {
    kind: String,
    format_version: u64,
}

#[derive(Deserialize)]
struct ConvFile {
    kernel: ConvFilter,
}

/// The body of an RSMI kernel file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RsmiFilter {
    /// Block side `b`.
    pub block: usize,
    /// `λ`, row-major in the block (`b²` values).
    pub filter: Vec<f64>,
    /// Jackknife errors of `filter`.
    pub errors: Vec<f64>,
}

#[derive(Deserialize)]
struct RsmiFile {
    kernel: RsmiFilter,
}

fn read_text(path: &Path) -> Result<String> {
    crate::files::read_side_text(path, "kernel file")
}

/// A kernel read from its specification on lattice `lattice`: `majority`, `decimation`,
/// `block-spin:LAMBDA`, `FILE.json` (a conv or RSMI kernel file), `FILE.json@S` (an RSMI filter
/// rescaled to strength `|λ| = S`) or `FILE.safetensors` (the first layer of a model, placed on
/// the coarse lattice; its placement is returned too).
pub fn parse_kernel(spec: &str, lattice: Lattice, factor: usize) -> Result<(AnyKernel, Option<Placement>)> {
    Ok(match spec {
        "majority" => (AnyKernel::Majority(Majority::new(lattice, factor)?), None),
        "decimation" => (AnyKernel::Decimation(Decimation::new(lattice, factor)?), None),
        s if s.starts_with("block-spin:") => {
            let lambda: f64 = s["block-spin:".len()..]
                .parse()
                .with_context(|| format!("--kernel {s}: expected block-spin:LAMBDA with a number"))?;
            (AnyKernel::BlockSpin(BlockSpin::new(lattice, factor, lambda)?), None)
        }
        s if s.contains(".json@") => {
            let (file, strength) = s.rsplit_once('@').expect("contains @");
            let strength: f64 =
                strength.parse().with_context(|| format!("--kernel {s}: expected FILE.json@STRENGTH"))?;
            match read_kernel_file(Path::new(file), lattice)? {
                AnyKernel::Rsmi(k) => (AnyKernel::Rsmi(k.with_strength(strength)?), None),
                _ => bail!("--kernel {s}: only RSMI kernel files ({RSMI_KIND}) take a strength"),
            }
        }
        file if file.ends_with(".json") => (read_kernel_file(Path::new(file), lattice)?, None),
        file if file.ends_with(".safetensors") => {
            let model = crate::model_file::read_model(Path::new(file))?;
            let layer = model.layers.first().context("the model has no layers")?.to_f64();
            let (k, placement) = DenseKernel::place(layer, lattice, factor)
                .with_context(|| format!("{file}: placing the first layer's hidden units"))?;
            (AnyKernel::Dense(k), Some(placement))
        }
        other => bail!(
            "unknown kernel {other:?}: expected majority, decimation, block-spin:LAMBDA, a .json kernel (or RSMI FILE.json@STRENGTH) or a .safetensors model"
        ),
    })
}

/// A conv or RSMI kernel file on lattice `lattice`.
fn read_kernel_file(path: &Path, lattice: Lattice) -> Result<AnyKernel> {
    let file = path.display();
    let text = read_text(path)?;
    let header: Header = serde_json::from_str(&text)
        .with_context(|| format!("{file} is not a kadanoff kernel file (no kind and format_version)"))?;
    match (header.kind.as_str(), header.format_version) {
        (CONV_KIND, CONV_FORMAT) => {
            let f: ConvFile = serde_json::from_str(&text).with_context(|| format!("{file}: malformed kernel"))?;
            Ok(AnyKernel::Conv(ConvKernel::from_filter(lattice, &f.kernel)?))
        }
        (RSMI_KIND, RSMI_FORMAT) => {
            let f: RsmiFile =
                serde_json::from_str(&text).with_context(|| format!("{file}: malformed RSMI kernel"))?;
            if f.kernel.filter.len() != f.kernel.block * f.kernel.block {
                bail!("{file}: an RSMI filter of block {} needs {} values", f.kernel.block, f.kernel.block.pow(2));
            }
            Ok(AnyKernel::Rsmi(RsmiKernel::new(lattice, &f.kernel.filter)?))
        }
        (kind, version) => bail!(
            "{file} is a {kind:?} file of format {version}; expected {CONV_KIND} {CONV_FORMAT} or {RSMI_KIND} {RSMI_FORMAT}"
        ),
    }
}
