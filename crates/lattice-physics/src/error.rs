//! The one error type of `lattice-physics`.

use thiserror::Error;

/// Everything that can go wrong when building a lattice-physics object from user input.
///
/// Parameters are validated once, at construction; algorithms take only validated types.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A lattice dimension below the smallest supported one.
    #[error("lattice size {size} is too small: the smallest supported size is {min}")]
    SizeTooSmall {
        /// The size that was asked for.
        size: usize,
        /// The smallest allowed size.
        min: usize,
    },
    /// A lattice so large its site count does not fit in memory or in `usize`.
    #[error("lattice size {size} is too large (at most {max} sites are supported)")]
    SizeTooLarge {
        /// The size that was asked for.
        size: usize,
        /// The largest number of sites supported.
        max: usize,
    },
    /// A configuration shape that is neither `[n]` (ring) nor `[l, l]` (square lattice).
    #[error("expected a configuration of shape [L] (ring) or [L, L] (square lattice), got {shape:?}")]
    UnsupportedShape {
        /// The shape of one configuration.
        shape: Vec<usize>,
    },
    /// A coupling or field that is NaN or infinite.
    #[error("{name} must be a finite number, got {value}")]
    NonFinite {
        /// Which parameter ("coupling", "field", ...).
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A coupling or field whose magnitude is physically absurd (every Boltzmann weight under- or overflows).
    #[error("{name} = {value} is out of range: |{name}| must be at most {max}")]
    OutOfRange {
        /// Which parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// The largest allowed magnitude.
        max: f64,
    },
    /// The checkerboard decomposition needs an even linear size on a periodic lattice.
    #[error("checkerboard updates need an even lattice size on a periodic lattice, got {size}")]
    OddSizeCheckerboard {
        /// The odd size.
        size: usize,
    },
    /// Cluster algorithms (Wolff, Swendsen-Wang) are only valid at zero field.
    #[error("the {algorithm} cluster algorithm only supports zero field, got h = {field}")]
    FieldWithClusterAlgorithm {
        /// Algorithm name.
        algorithm: &'static str,
        /// The nonzero field.
        field: f64,
    },
    /// Cluster algorithms here are only implemented for ferromagnetic (non-negative) coupling.
    #[error(
        "the {algorithm} cluster algorithm needs a coupling K >= 0, got K = {coupling}; \
         use metropolis or heat-bath for antiferromagnets"
    )]
    NegativeCouplingWithClusterAlgorithm {
        /// Algorithm name.
        algorithm: &'static str,
        /// The negative coupling.
        coupling: f64,
    },
    /// A sampler name that is not one of the known algorithms.
    #[error(
        "unknown sampling algorithm {name:?}: expected one of metropolis, heat-bath, wolff, swendsen-wang"
    )]
    UnknownAlgorithm {
        /// The name that was given.
        name: String,
    },
    /// Exact enumeration was asked for on too many spins.
    #[error("exact enumeration needs at most {max} spins, the lattice has {sites}")]
    TooManySpinsForEnumeration {
        /// Number of spins of the lattice.
        sites: usize,
        /// The largest number of spins the enumeration accepts.
        max: usize,
    },
    /// A configuration whose length does not match the lattice.
    #[error("configuration has {len} spins, the lattice has {sites}")]
    ConfigurationLength {
        /// Length of the data.
        len: usize,
        /// Number of lattice sites.
        sites: usize,
    },
    /// A spin value other than +1 or -1.
    #[error("spin value {value} at index {index} is not +1 or -1")]
    NotASpin {
        /// Index in the flat configuration.
        index: usize,
        /// The offending value.
        value: i8,
    },
    /// A statistical estimator was given too few samples.
    #[error("{what} needs at least {min} samples, got {len}")]
    TooFewSamples {
        /// Which estimator.
        what: &'static str,
        /// Number of samples provided.
        len: usize,
        /// Minimum required.
        min: usize,
    },
    /// A data series contains NaN or an infinite value.
    #[error("{what}: value at index {index} is not finite")]
    NonFiniteData {
        /// Which estimator was given the data.
        what: &'static str,
        /// Index of the first offending value.
        index: usize,
    },
    /// Automatic windowing found no self-consistent window: the series is too short compared
    /// with its autocorrelation time.
    #[error(
        "series of {len} points is too short to estimate its autocorrelation time \
         (no window W <= {max_window} with W >= {factor} tau_int(W)); use a longer run"
    )]
    NoAutocorrelationWindow {
        /// Length of the series.
        len: usize,
        /// The largest window tried.
        max_window: usize,
        /// The windowing factor `c` (window `W >= c·τ_int(W)`).
        factor: f64,
    },
    /// A data set asked for more chains than samples, so some chain would contribute nothing.
    #[error("{chains} chains for {samples} samples: every chain must produce at least one sample")]
    MoreChainsThanSamples {
        /// Requested number of chains.
        chains: usize,
        /// Requested number of samples.
        samples: usize,
    },
    /// The automatic pilot run could not estimate the autocorrelation time within its budget.
    #[error(
        "autocorrelation time could not be estimated within a pilot run of {sweeps} sweeps \
         (the dynamics is too slow here); set thermalisation and thinning explicitly"
    )]
    PilotRunTooLong {
        /// Length of the last pilot run tried, in sweeps.
        sweeps: usize,
    },
    /// Reading or writing a data set failed at the operating-system level.
    #[error("{what}: {message}")]
    Io {
        /// What was being read or written.
        what: &'static str,
        /// The kind of I/O failure.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// An `.npy` input that is not a well-formed `.npy` file.
    #[error("not a valid .npy file: {reason}")]
    NpyFormat {
        /// What is wrong with it.
        reason: String,
    },
    /// An `.npy` element type that data sets cannot hold.
    #[error(
        "unsupported .npy dtype {descr:?}: expected an integer or float type (|i1, |u1, <i2, <i4, <i8, <f4, <f8, or big-endian)"
    )]
    NpyDtype {
        /// The dtype descriptor of the header.
        descr: String,
    },
    /// An `.npy` header whose shape disagrees with the length of the data that follows it.
    #[error(
        ".npy header claims shape {shape:?} ({expected} data bytes) but the input holds {actual} data bytes"
    )]
    NpyLength {
        /// The shape the header claims.
        shape: Vec<usize>,
        /// Data bytes that shape needs (saturated at `u128::MAX`).
        expected: u128,
        /// Data bytes actually present after the header.
        actual: u64,
    },
    /// A request for more memory than the caller's limit.
    #[error("{what} would need {bytes} bytes, over the memory limit of {limit} bytes")]
    OverMemoryLimit {
        /// What would be allocated.
        what: &'static str,
        /// Bytes needed.
        bytes: u128,
        /// The limit in force.
        limit: u64,
    },
    /// A data value that is not one of the unit values `-1`, `0`, `1`.
    #[error("value {value} at flat index {index} is not one of the unit values -1, 0, 1")]
    NotAUnitValue {
        /// Index in the flattened data.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A data set whose array does not have the shape `(samples, sites...)`.
    #[error("expected a data set of shape (samples, L) or (samples, L, L) with at least one sample, got shape {shape:?}")]
    DatasetShape {
        /// The shape of the array.
        shape: Vec<usize>,
    },
    /// A sidecar larger than its size limit.
    #[error("sidecar is larger than {limit} bytes; it is not a kadanoff sidecar")]
    SidecarTooLarge {
        /// The size limit.
        limit: u64,
    },
    /// A sidecar that does not follow the schema.
    #[error("not a kadanoff data-set sidecar: {reason}")]
    SidecarFormat {
        /// What is wrong with it.
        reason: String,
    },
    /// A generic invalid-parameter error with a named parameter and a reason.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Which parameter.
        name: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
