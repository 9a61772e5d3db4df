//! The JSON sidecar of a spin data set: one typed, versioned schema for every writer.
//!
//! `FILE.npy` is described by `FILE.json`, a [`Sidecar`]: what the data is (lattice, shape,
//! coupling and field when known) and how it was made ([`Source`]: Monte Carlo sampling,
//! generation from a trained model, or block spins of another data set). The schema carries
//! [`SCHEMA_VERSION`]; a reader refuses other versions rather than guessing. Physical values are
//! dimensionless (`K = βJ`, `h = βH`, science conventions of [`crate::model`]); times are in sweeps.
//!
//! A number that is unavailable (an autocorrelation time or error bar that could not be
//! estimated, a non-finite estimate) is `None` in the types and `null` in the file, and reads
//! back as `None`: never as NaN or another stand-in value.
//!
//! Reading is bounded: at most a caller-given number of bytes is read, so a sidecar that is
//! really a device or a huge file is refused instead of filling memory.

use std::io::{Read, Write};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lattice::Lattice;
use crate::model::IsingModel;

/// The value of [`Sidecar::kind`].
pub const KIND: &str = "kadanoff.spins";

/// The schema version written, and the only one read.
pub const SCHEMA_VERSION: u32 = 1;

/// A generous size limit for sidecars (real ones are a few kilobytes).
pub const MAX_SIDECAR_BYTES: u64 = 1 << 20;

/// Description of the data layout, written for human readers.
pub const FORMAT: &str =
    "int8 .npy of ±1 values, shape (samples, L, L) for ising2d or (samples, L) for ising1d, row-major sites";

/// The sidecar of one data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Always [`KIND`].
    pub kind: String,
    /// Always [`SCHEMA_VERSION`] for what this version writes and reads.
    pub schema_version: u32,
    /// Version of the tool that wrote the data.
    pub tool_version: String,
    /// The data layout in words ([`FORMAT`]).
    pub format: String,
    /// `ising2d` or `ising1d` (follows from `lattice`).
    pub model: String,
    /// Linear size (follows from `lattice`).
    pub size: usize,
    /// The lattice of every configuration.
    pub lattice: Lattice,
    /// Shape of the `.npy` array: `[samples, L, L]` or `[samples, L]`.
    pub shape: Vec<usize>,
    /// Number of configurations.
    pub samples: usize,
    /// Coupling `K = βJ` of the distribution the data represents, when known.
    pub coupling: Option<f64>,
    /// Field `h = βH`, when known.
    pub field: Option<f64>,
    /// Seed of the run that made the data.
    pub seed: u64,
    /// How the data was made.
    #[serde(flatten)]
    pub source: Source,
    /// Wall-clock time of the run, seconds; `None` when not recorded (campaign tasks leave it
    /// out so that their outputs are byte-identical from run to run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
    /// The data file as named on the command line.
    pub output: String,
}

/// How a data set was made (the `source` key of the sidecar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source")]
// One value per file, never in a hot path or a large collection: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// Equilibrium Monte Carlo (`kadanoff sample`).
    #[serde(rename = "sample")]
    Sample(SampleRecord),
    /// Sampled from a trained model (`kadanoff generate`).
    #[serde(rename = "generate")]
    Generate(GenerateRecord),
    /// Block spins of another data set (`kadanoff rg block`).
    #[serde(rename = "rg block")]
    Block(BlockRecord),
}

/// How a Monte Carlo data set was sampled, and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// Sampler name.
    pub algorithm: String,
    /// Independent chains.
    pub chains: usize,
    /// Thermalisation, as asked and as done.
    pub thermalize: SweepsRecord,
    /// Thinning, as asked and as done.
    pub thin: SweepsRecord,
    /// Integrated autocorrelation times (in sweeps); `None` when the run was too short to
    /// estimate them.
    pub autocorrelation: Option<Autocorrelation>,
    /// Observables with error bars; `None` when error bars could not be estimated.
    pub observables: Option<ObservableEstimates>,
    /// Why `autocorrelation` or `observables` are missing, if they are.
    pub error_bars_unavailable: Option<String>,
    /// The susceptibility convention of `observables`.
    pub susceptibility_convention: String,
    /// Exact values for the same lattice, when an exact solution applies.
    pub exact: Option<ExactReference>,
}

/// A number of sweeps as requested (`auto` or a number) and as done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepsRecord {
    /// What was asked, as given.
    pub requested: String,
    /// What was done.
    pub sweeps: usize,
}

/// `Some(x)` for a finite `x`, `None` (written as `null`) for NaN or an infinity.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Integrated autocorrelation times with their errors; each is `None` (`null`) when it could
/// not be estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Autocorrelation {
    /// Unit of the times (`sweeps`).
    pub unit: String,
    /// `τ_int` of the energy.
    pub energy: Option<f64>,
    /// Its error.
    pub energy_stderr: Option<f64>,
    /// `τ_int` of `|m|`.
    pub abs_magnetization: Option<f64>,
    /// Its error.
    pub abs_magnetization_stderr: Option<f64>,
}

impl Autocorrelation {
    /// The record of the times of the energy and `|m|` (non-finite values become `None`).
    pub fn new(energy: crate::stats::TauInt, abs_magnetization: crate::stats::TauInt) -> Self {
        Autocorrelation {
            unit: "sweeps".into(),
            energy: finite(energy.tau),
            energy_stderr: finite(energy.stderr),
            abs_magnetization: finite(abs_magnetization.tau),
            abs_magnetization_stderr: finite(abs_magnetization.stderr),
        }
    }
}

/// A mean with its standard error; each is `None` (`null`) when unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EstimateRecord {
    /// Mean.
    pub mean: Option<f64>,
    /// Standard error.
    pub stderr: Option<f64>,
}

impl EstimateRecord {
    /// The mean and its standard error when both are available.
    pub fn both(&self) -> Option<(f64, f64)> {
        self.mean.zip(self.stderr)
    }
}

impl From<crate::stats::Estimate> for EstimateRecord {
    /// Non-finite means or errors become `None`.
    fn from(e: crate::stats::Estimate) -> Self {
        EstimateRecord { mean: finite(e.mean), stderr: finite(e.stderr) }
    }
}

/// The thermodynamic observables of a data set (see [`crate::observables`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservableEstimates {
    /// `e = -⟨B⟩/N`.
    pub energy_per_site: EstimateRecord,
    /// `⟨|m|⟩`.
    pub abs_magnetization: EstimateRecord,
    /// `⟨m²⟩`.
    pub magnetization_sq: EstimateRecord,
    /// `c = K² var(B)/N`.
    pub specific_heat_per_site: EstimateRecord,
    /// `χ = N(⟨m²⟩ - ⟨|m|⟩²)`.
    pub susceptibility_per_site: EstimateRecord,
    /// `U = 1 - ⟨m⁴⟩/(3⟨m²⟩²)`.
    pub binder_cumulant: EstimateRecord,
}

impl From<&crate::observables::Observables> for ObservableEstimates {
    fn from(o: &crate::observables::Observables) -> Self {
        ObservableEstimates {
            energy_per_site: o.energy_per_site.into(),
            abs_magnetization: o.abs_magnetization.into(),
            magnetization_sq: o.magnetization_sq.into(),
            specific_heat_per_site: o.specific_heat_per_site.into(),
            susceptibility_per_site: o.susceptibility_per_site.into(),
            binder_cumulant: o.binder_cumulant.into(),
        }
    }
}

/// Exact values for the sampled lattice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactReference {
    /// `kaufman`, `transfer-matrix` or `enumeration`.
    pub method: String,
    /// Exact energy per site.
    pub energy_per_site: f64,
    /// Exact specific heat per site.
    pub specific_heat_per_site: f64,
    /// Exact magnetisation per site (in a field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magnetization: Option<f64>,
}

/// How a data set was generated from a trained model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateRecord {
    /// Block Gibbs sweeps in the top RBM.
    pub gibbs_steps: usize,
    /// The model file.
    pub from_model: String,
}

/// How a data set was blocked from another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Block rule name.
    pub rule: String,
    /// Block factor `b`.
    pub factor: usize,
    /// Blocking steps.
    pub levels: usize,
    /// The input data file.
    pub from_data: String,
    /// The input's sidecar, when it had a valid one.
    pub from_metadata: Option<Box<Sidecar>>,
}

/// The one field a reader looks at before the schema: its version, a number or something else.
#[derive(Deserialize)]
struct VersionProbe {
    #[serde(default)]
    schema_version: Option<VersionValue>,
}

/// Whether `schema_version` is a number; only the variant is looked at.
#[derive(Deserialize)]
#[serde(untagged)]
enum VersionValue {
    Number(#[allow(dead_code)] f64),
    Other(#[allow(dead_code)] IgnoredAny),
}

fn bad(reason: impl Into<String>) -> Error {
    Error::SidecarFormat { reason: reason.into() }
}

impl Sidecar {
    /// A sidecar for `samples` configurations on `lattice`, with the common fields filled in.
    pub fn new(lattice: Lattice, samples: usize, seed: u64, source: Source) -> Self {
        let mut shape = vec![samples];
        shape.extend(lattice.shape());
        Sidecar {
            kind: KIND.to_string(),
            schema_version: SCHEMA_VERSION,
            tool_version: String::new(),
            format: FORMAT.to_string(),
            model: model_name(lattice).to_string(),
            size: lattice.linear_size(),
            lattice,
            shape,
            samples,
            coupling: None,
            field: None,
            seed,
            source,
            elapsed_seconds: None,
            output: String::new(),
        }
    }

    /// Check the invariants a reader relies on: kind, version, and that `model`, `size`,
    /// `shape` and `samples` agree with `lattice`; couplings in range.
    pub fn validate(&self) -> Result<()> {
        if self.kind != KIND {
            return Err(bad(format!("kind is {:?}, expected {KIND:?}", self.kind)));
        }
        if self.schema_version != SCHEMA_VERSION {
            return Err(bad(format!(
                "schema version {} is not supported (this version reads {SCHEMA_VERSION})",
                self.schema_version
            )));
        }
        let mut shape = vec![self.samples];
        shape.extend(self.lattice.shape());
        if self.shape != shape
            || self.size != self.lattice.linear_size()
            || self.model != model_name(self.lattice)
        {
            return Err(bad(format!(
                "model {:?}, size {}, shape {:?} and samples {} do not describe the lattice {:?}",
                self.model, self.size, self.shape, self.samples, self.lattice
            )));
        }
        if self.coupling.is_some() || self.field.is_some() {
            IsingModel::new(self.lattice, self.coupling.unwrap_or(0.0), self.field.unwrap_or(0.0))?;
        }
        if let Source::Block(b) = &self.source {
            if let Some(inner) = &b.from_metadata {
                inner.validate()?;
            }
        }
        Ok(())
    }

    /// The model the data represents, when its coupling is known.
    pub fn ising_model(&self) -> Option<IsingModel> {
        IsingModel::new(self.lattice, self.coupling?, self.field.unwrap_or(0.0)).ok()
    }
}

/// `ising2d` for a square lattice, `ising1d` for a ring.
pub fn model_name(lattice: Lattice) -> &'static str {
    if lattice.dimension() == 2 {
        "ising2d"
    } else {
        "ising1d"
    }
}

/// Read and validate a sidecar from `reader`, reading at most `limit` bytes.
pub fn read_sidecar<R: Read>(reader: R, limit: u64) -> Result<Sidecar> {
    let mut text = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut text)
        .map_err(|e| super::npy::io_err("reading a sidecar", e))?;
    if text.len() as u64 > limit {
        return Err(Error::SidecarTooLarge { limit });
    }
    sidecar_from_bytes(&text)
}

/// Parse and validate a sidecar held in memory.
pub fn sidecar_from_bytes(bytes: &[u8]) -> Result<Sidecar> {
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    match probe.schema_version {
        Some(VersionValue::Number(_)) => {}
        Some(VersionValue::Other(_)) => return Err(bad("schema_version is not a number")),
        None => {
            return Err(bad("it has no schema_version (written by an older kadanoff? regenerate the data)"))
        }
    }
    let sidecar: Sidecar = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    sidecar.validate()?;
    Ok(sidecar)
}

/// Write a sidecar as pretty JSON followed by a newline.
pub fn write_sidecar<W: Write>(mut writer: W, sidecar: &Sidecar) -> Result<()> {
    serde_json::to_writer_pretty(&mut writer, sidecar).map_err(|e| bad(e.to_string()))?;
    writer.write_all(b"\n").map_err(|e| super::npy::io_err("writing a sidecar", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn sample() -> Sidecar {
        let lat = Lattice::square(4).unwrap();
        let mut s = Sidecar::new(
            lat,
            10,
            3,
            Source::Sample(SampleRecord {
                algorithm: "wolff".into(),
                chains: 2,
                thermalize: SweepsRecord { requested: "auto".into(), sweeps: 100 },
                thin: SweepsRecord { requested: "5".into(), sweeps: 5 },
                autocorrelation: None,
                observables: Some(ObservableEstimates {
                    energy_per_site: EstimateRecord { mean: Some(-1.5), stderr: Some(0.1) },
                    abs_magnetization: EstimateRecord { mean: Some(0.5), stderr: Some(0.1) },
                    magnetization_sq: EstimateRecord { mean: Some(0.3), stderr: Some(0.1) },
                    specific_heat_per_site: EstimateRecord { mean: Some(1.0), stderr: Some(0.1) },
                    susceptibility_per_site: EstimateRecord { mean: Some(2.0), stderr: Some(0.1) },
                    binder_cumulant: Estimate { mean: f64::NAN, stderr: f64::INFINITY }.into(),
                }),
                error_bars_unavailable: None,
                susceptibility_convention: "chi".into(),
                exact: None,
            }),
        );
        s.coupling = Some(0.4);
        s.field = Some(0.0);
        s.elapsed_seconds = Some(1.5);
        s
    }

    #[test]
    fn round_trip_including_nan_and_nesting() {
        let s = sample();
        let mut bytes = Vec::new();
        write_sidecar(&mut bytes, &s).unwrap();
        let back = read_sidecar(&bytes[..], MAX_SIDECAR_BYTES).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&s).unwrap());
        assert_eq!(back, s);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["source"], "sample");
        assert_eq!(v["seed"], 3);
        assert_eq!(v["algorithm"], "wolff");
        let lat = Lattice::square(2).unwrap();
        let block = Sidecar::new(
            lat,
            10,
            1,
            Source::Block(BlockRecord {
                rule: "majority".into(),
                factor: 2,
                levels: 1,
                from_data: "a.npy".into(),
                from_metadata: Some(Box::new(s)),
            }),
        );
        let mut bytes = Vec::new();
        write_sidecar(&mut bytes, &block).unwrap();
        let back = read_sidecar(&bytes[..], MAX_SIDECAR_BYTES).unwrap();
        assert!(matches!(back.source, Source::Block(BlockRecord { from_metadata: Some(_), .. })));
    }

    #[test]
    fn unavailable_values_are_none_end_to_end() {
        // A non-finite estimate is written as `null` and read back as `None`.
        let mut s = sample();
        let Source::Sample(rec) = &mut s.source else { unreachable!() };
        let tau = |tau, stderr| crate::stats::TauInt { tau, stderr, window: 1 };
        rec.autocorrelation = Some(Autocorrelation::new(tau(2.5, 0.25), tau(f64::NAN, f64::NAN)));
        let mut bytes = Vec::new();
        write_sidecar(&mut bytes, &s).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let a = &v["autocorrelation"];
        assert_eq!((a["energy"].as_f64(), a["energy_stderr"].as_f64()), (Some(2.5), Some(0.25)));
        assert!(a["abs_magnetization"].is_null() && a["abs_magnetization_stderr"].is_null());
        assert!(v["observables"]["binder_cumulant"]["mean"].is_null());
        assert!(v["observables"]["binder_cumulant"]["stderr"].is_null());
        let back = read_sidecar(&bytes[..], MAX_SIDECAR_BYTES).unwrap();
        let Source::Sample(r) = &back.source else { unreachable!() };
        let a = r.autocorrelation.as_ref().unwrap();
        assert_eq!((a.energy, a.abs_magnetization, a.abs_magnetization_stderr), (Some(2.5), None, None));
        let binder = r.observables.as_ref().unwrap().binder_cumulant;
        assert_eq!((binder.mean, binder.stderr, binder.both()), (None, None, None));
        assert_eq!(r.observables.as_ref().unwrap().energy_per_site.both(), Some((-1.5, 0.1)));
        // A sidecar written by an older kadanoff (NaN written as `null`) loads the same way.
        let text = String::from_utf8(bytes).unwrap();
        let old = text.replace("\"energy\": 2.5", "\"energy\": null");
        assert_ne!(old, text);
        let Source::Sample(r) = sidecar_from_bytes(old.as_bytes()).unwrap().source else { unreachable!() };
        assert_eq!(r.autocorrelation.unwrap().energy, None);
    }

    #[test]
    fn invalid_sidecars_are_refused() {
        let mut bytes = Vec::new();
        write_sidecar(&mut bytes, &sample()).unwrap();
        assert!(matches!(read_sidecar(&bytes[..], 100), Err(Error::SidecarTooLarge { limit: 100 })));
        let text = String::from_utf8(bytes).unwrap();
        for (from, to) in [
            ("\"schema_version\": 1", "\"schema_version\": 2"),
            ("\"schema_version\": 1,", ""),
            ("\"kind\": \"kadanoff.spins\"", "\"kind\": \"other\""),
            ("\"samples\": 10", "\"samples\": 11"),
            ("\"coupling\": 0.4", "\"coupling\": 400.0"),
            ("\"l\": 4", "\"l\": 0"),
            ("\"source\": \"sample\"", "\"source\": \"magic\""),
        ] {
            assert!(text.contains(from), "{from}");
            let t = text.replacen(from, to, 1);
            assert!(sidecar_from_bytes(t.as_bytes()).is_err(), "{from} -> {to}");
        }
        assert!(sidecar_from_bytes(b"[]").is_err());
        assert!(sidecar_from_bytes(b"").is_err());
    }
}
