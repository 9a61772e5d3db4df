//! The one error type of `rg-transforms`.

use thiserror::Error;

/// Everything that can go wrong when asking `rg-transforms` for a transformation.
///
/// Inputs are validated up front; no function of this crate panics on bad input.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from `lattice-physics` (for instance a coarse lattice below the smallest size).
    #[error(transparent)]
    Lattice(#[from] lattice_physics::Error),
    /// An error from `rbm-core` (for instance an RBM with inconsistent shapes).
    #[error(transparent)]
    Rbm(#[from] rbm_core::Error),
    /// A block factor that does not divide the linear size of the lattice.
    #[error("block factor {factor} does not divide the linear size {size} of the lattice")]
    FactorDoesNotDivide {
        /// The block factor `b`.
        factor: usize,
        /// The linear size of the lattice being blocked.
        size: usize,
    },
    /// A block factor below 2 (a factor of 1 is the identity, 0 is meaningless).
    #[error("block factor must be at least 2, got {factor}")]
    FactorTooSmall {
        /// The block factor asked for.
        factor: usize,
    },
    /// A data set on another lattice than the one the transformation was built for.
    #[error("data set on lattice {got:?}, expected {expected:?}")]
    LatticeMismatch {
        /// The data set's lattice.
        got: lattice_physics::Lattice,
        /// The lattice required.
        expected: lattice_physics::Lattice,
    },
    /// A parameter that is NaN or infinite.
    #[error("{name} must be a finite number, got {value}")]
    NonFinite {
        /// Which parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A parameter out of its allowed range.
    #[error("{name} = {value} is out of range: {reason}")]
    OutOfRange {
        /// Which parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the allowed range is.
        reason: &'static str,
    },
    /// An exact enumeration over more spins than this crate will attempt.
    #[error("exact enumeration over {what} needs at most {max} spins, got {spins}: refusing rather than running for hours")]
    TooManySpins {
        /// Which set of spins ("visible", "hidden", ...).
        what: &'static str,
        /// How many spins were asked for.
        spins: usize,
        /// The largest number accepted.
        max: usize,
    },
    /// Two objects whose sizes must agree do not.
    #[error("size mismatch: {what} is {got}, expected {expected}")]
    SizeMismatch {
        /// What was compared.
        what: &'static str,
        /// The size found.
        got: usize,
        /// The size required.
        expected: usize,
    },
    /// Too few samples for an estimator (for instance a jackknife needs at least two blocks).
    #[error("{what} needs at least {min} samples, got {len}")]
    TooFewSamples {
        /// Which estimator.
        what: &'static str,
        /// Number available.
        len: usize,
        /// Minimum required.
        min: usize,
    },
    /// A correlation matrix that cannot be inverted (operators linearly dependent on this
    /// lattice, or a data set with no fluctuations).
    #[error("the {what} matrix is singular or ill-conditioned (level {level}); choose fewer operators, a larger lattice or fewer levels")]
    SingularMatrix {
        /// Which matrix.
        what: &'static str,
        /// The blocking level at which it happened.
        level: usize,
    },
    /// An invalid combination of parameters, with the reason.
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

/// Check that `value` is finite.
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NonFinite { name, value })
    }
}
