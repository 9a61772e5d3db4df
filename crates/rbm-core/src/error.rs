//! The one error type of `rbm-core`.

use thiserror::Error;

use crate::Units;

/// Everything that can go wrong when building or using an RBM from user input.
///
/// Parameters and data are validated once, at the boundary; the algorithms then trust them.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Two arrays whose sizes must agree do not.
    #[error("shape mismatch for {what}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// What was being checked (for example "visible bias length").
        what: &'static str,
        /// The size required.
        expected: usize,
        /// The size given.
        found: usize,
    },
    /// A layer with no units.
    #[error("the {layer} layer has no units")]
    EmptyLayer {
        /// "visible" or "hidden".
        layer: &'static str,
    },
    /// A weight or bias that is NaN or infinite.
    #[error("parameter {name} has a non-finite value at index {index}")]
    NonFiniteParameter {
        /// "weights", "visible_bias" or "hidden_bias".
        name: &'static str,
        /// Flat (row-major) index of the first bad value.
        index: usize,
    },
    /// A data set with no rows.
    #[error("the data set is empty")]
    EmptyData,
    /// A data value that is NaN or infinite.
    #[error("data value at row {row}, column {column} is not finite")]
    NonFiniteData {
        /// Row (sample) index.
        row: usize,
        /// Column (unit) index.
        column: usize,
    },
    /// A data value that is not one of the two values of the layer's units.
    #[error("data value {value} at row {row}, column {column} is not a valid {units} unit value")]
    InvalidUnitValue {
        /// Row (sample) index.
        row: usize,
        /// Column (unit) index.
        column: usize,
        /// The offending value.
        value: f64,
        /// The units the layer expects.
        units: Units,
    },
    /// Integer data that are neither ±1 spins nor 0/1 bits throughout, or bits for spin units
    /// ([`Units::data_from_values`]).
    #[error("the data {problem}")]
    DataValues {
        /// What is wrong, completing "the data …".
        problem: &'static str,
    },
    /// Exact enumeration was asked for on a model whose smaller layer is too large.
    #[error("exact enumeration needs a layer of at most {max} units, the smaller layer has {units}")]
    TooManyUnitsForExact {
        /// Units in the layer that would be summed over.
        units: usize,
        /// The largest number of units accepted.
        max: usize,
    },
    /// A configuration parameter outside its allowed range.
    #[error("invalid {name} = {}: {reason}", show_value(*.value))]
    InvalidParameter {
        /// Parameter name as in the config struct.
        name: &'static str,
        /// The offending value (as f64).
        value: f64,
        /// What is required.
        reason: &'static str,
    },
    /// A mini-batch larger than the training set.
    #[error("batch size {batch_size} is larger than the {samples} training samples")]
    BatchLargerThanData {
        /// The requested batch size.
        batch_size: usize,
        /// Training samples available (after removing the held-out part).
        samples: usize,
    },
    /// The data given to a trainer differ from the data it was created with.
    #[error("the trainer was created for {expected} samples, got {found}")]
    DataChanged {
        /// Rows the trainer expects.
        expected: usize,
        /// Rows given.
        found: usize,
    },
    /// Training produced non-finite weights or metrics; the last good state was kept.
    #[error("training diverged in epoch {epoch}: {what} became non-finite (last good state kept; lower the learning rate)")]
    Diverged {
        /// Epoch (0-based) whose update diverged.
        epoch: usize,
        /// Which quantity became non-finite.
        what: &'static str,
    },
    /// A deep belief network whose layer sizes or units do not chain.
    #[error("layer {layer} has {found} visible units but the layer below has {expected} hidden units")]
    LayersDoNotChain {
        /// Index of the upper layer.
        layer: usize,
        /// Hidden units of layer `layer - 1`.
        expected: usize,
        /// Visible units of layer `layer`.
        found: usize,
    },
    /// A deep belief network whose adjacent layers use different units for the shared layer.
    #[error("layer {layer} has {found} visible units but the layer below has {expected} hidden units")]
    LayerUnitsDoNotChain {
        /// Index of the upper layer.
        layer: usize,
        /// Hidden units of layer `layer - 1`.
        expected: Units,
        /// Visible units of layer `layer`.
        found: Units,
    },
    /// A deep belief network with no layers.
    #[error("a deep belief network needs at least one layer")]
    NoLayers,
    /// A saved training state (for example a checkpoint) that is inconsistent in itself.
    #[error("invalid training state: {what} {detail}")]
    InvalidState {
        /// The part of the state at fault.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A saved training state that is consistent but belongs to another run than the one
    /// requested.
    #[error(
        "the saved state is of another run: {what} is {found} in the state but {expected} was requested"
    )]
    StateMismatch {
        /// The setting that differs (for example "layer 2 hidden units").
        what: String,
        /// The requested value.
        expected: String,
        /// The value in the state.
        found: String,
    },
    /// Input longer than the byte limit the caller set.
    #[error("the input is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading or writing failed.
    #[error("input/output error: {message}")]
    Io {
        /// The operating system's message.
        message: String,
    },
    /// Bytes that are not a valid safetensors container (header, offsets, lengths).
    #[error("not a valid safetensors file: {reason}")]
    Safetensors {
        /// What is wrong.
        reason: String,
    },
    /// A safetensors file of another kind than the one expected.
    #[error("a `{found}` file, not a `{expected}` file")]
    FileKind {
        /// The kind expected (`kadanoff.dbn` or `kadanoff.checkpoint`).
        expected: &'static str,
        /// The kind found.
        found: String,
    },
    /// A file of a layout version this crate does not read.
    #[error("format version {found}; this version of rbm-core reads version {expected}")]
    FormatVersion {
        /// The version read.
        expected: &'static str,
        /// The version found.
        found: String,
    },
    /// A metadata entry of a file that is missing or malformed.
    #[error("metadata `{key}` {reason}")]
    Metadata {
        /// The entry.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor of a file that is missing or of the wrong shape, dtype or values.
    #[error("tensor `{name}` {reason}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A step was asked of a training run that has finished.
    #[error("training is finished: every layer has run all its epochs")]
    AlreadyFinished,
}

/// A number as a person would write it: plain when moderate, in exponent form otherwise
/// (`1e300`, not three hundred digits).
fn show_value(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
