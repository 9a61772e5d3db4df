//! The one error type of `kadanoff-analysis`.

use thiserror::Error;

/// Everything that can go wrong when building a figure, table or report from caller input.
///
/// Inputs are checked before any drawing starts; no function of this crate panics on bad input.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A list that must hold at least one item was empty.
    #[error("{what} is empty")]
    Empty {
        /// What was empty ("weight matrices", "series", ...).
        what: &'static str,
    },
    /// Two consecutive weight matrices whose inner dimensions differ.
    #[error(
        "weight matrix {layer} has {rows} rows but the layer below it has {expected} units \
         (matrices must be oriented rows = units below, columns = units above)"
    )]
    LayerMismatch {
        /// Index (from 0) of the offending matrix in the stack.
        layer: usize,
        /// Its number of rows.
        rows: usize,
        /// The number of columns of the matrix below it.
        expected: usize,
    },
    /// An array whose shape does not fit what the function expects.
    #[error("{what} has shape {got:?}, expected {expected}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The shape received.
        got: Vec<usize>,
        /// A description of the expected shape.
        expected: String,
    },
    /// A NaN or infinite number where a finite one is needed.
    #[error("{what} contains a non-finite value at index {index}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Flat index of the first offending value.
        index: usize,
    },
    /// A value outside its allowed range (a spin that is not ±1, a probability outside [0, 1], ...).
    #[error("{what} has value {value} at index {index}, outside {allowed}")]
    OutOfRange {
        /// Which input.
        what: &'static str,
        /// Flat index of the first offending value.
        index: usize,
        /// The offending value.
        value: f64,
        /// The allowed range, in words.
        allowed: &'static str,
    },
    /// A figure parameter (size, scale factor, number of columns, ...) that is zero or too large.
    #[error("{name} = {value} is invalid: {reason}")]
    BadParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: usize,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two report figures with the same identifier.
    #[error("figure identifier {id:?} is used twice")]
    DuplicateFigure {
        /// The repeated identifier.
        id: String,
    },
    /// A figure identifier with characters outside `[A-Za-z0-9_-]`.
    #[error("figure identifier {id:?} must be non-empty and use only ASCII letters, digits, '-' and '_'")]
    BadIdentifier {
        /// The offending identifier.
        id: String,
    },
    /// A table row whose number of cells differs from the number of columns.
    #[error("table row {row} has {got} cells but the table has {expected} columns")]
    RowLength {
        /// Index of the row.
        row: usize,
        /// Its number of cells.
        got: usize,
        /// The number of columns.
        expected: usize,
    },
    /// An SVG string that does not look like one `<svg>…</svg>` element, or that refers to the network.
    #[error("SVG figure {id:?} is not embeddable: {reason}")]
    BadSvg {
        /// The figure's identifier.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A campaign file that cannot be run as written.
    #[error("campaign: {field}: {reason}")]
    InvalidCampaign {
        /// The offending field.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A task record written by another campaign (its hash differs).
    #[error("{location} belongs to another campaign ({campaign}, hash {hash}; this campaign's hash is {expected})")]
    ForeignTask {
        /// Where the record was found.
        location: String,
        /// The campaign name it records.
        campaign: String,
        /// The campaign hash it records.
        hash: String,
        /// This campaign's hash.
        expected: String,
    },
    /// A record whose task is not in this campaign's task table (or differs from its row).
    #[error("{location} records task {task}, which does not match this campaign's task table")]
    UnknownTask {
        /// Where the record was found.
        location: String,
        /// The task index it records.
        task: usize,
    },
    /// Two records for the same task.
    #[error("task {task} is duplicated: {first} and {second}")]
    DuplicateTask {
        /// The task index.
        task: usize,
        /// Where the first record was found.
        first: String,
        /// Where the second was found.
        second: String,
    },
    /// Tasks without a (finished) record.
    #[error("{count} of {total} tasks are missing (first missing: task {first}); run them with `campaign run-task`")]
    MissingTasks {
        /// How many are missing.
        count: usize,
        /// Number of tasks in the campaign.
        total: usize,
        /// The first missing task index.
        first: usize,
    },
    /// An output listed in a record that is missing, truncated or corrupted.
    #[error("{location}: output {file} is {problem}")]
    BadOutput {
        /// Where the record was found.
        location: String,
        /// The output's file name.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A study setting outside its range ([`crate::study::StudyConfig::validate`]).
    #[error("study setting {name} = {value} is invalid: {reason}")]
    Setting {
        /// The setting's field name.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A training state to resume that does not belong to the study being run.
    #[error("the training state to resume does not match the study: {reason}")]
    ResumeMismatch {
        /// What differs.
        reason: String,
    },
    /// The caller's callback asked a study step to stop.
    #[error("stopped by the caller")]
    Stopped,
    /// A lattice, sampler or data-set error of a study step.
    #[error(transparent)]
    Physics(#[from] lattice_physics::Error),
    /// An RBM or training error of a study step.
    #[error(transparent)]
    Rbm(#[from] rbm_core::Error),
    /// A renormalization-group error of a study step.
    #[error(transparent)]
    Rg(#[from] rg_transforms::Error),
    /// The plotting or PNG backend failed.
    #[error("drawing failed: {message}")]
    Backend {
        /// The backend's message.
        message: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
