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
