//! File formats of spin data sets (cargo feature `io`): `.npy` arrays and their JSON sidecars.
//!
//! Everything here works on [`Read`]/[`Write`] values and byte
//! slices; opening, replacing and removing files is left to the caller (the command line writes
//! through a temporary file and an atomic rename). Readers take an explicit byte limit and
//! check every size an input claims against the input's real length and that limit before
//! allocating.
//!
//! - [`npy`]: the `.npy` reader ([`npy::read_units`]) and writer ([`npy::write_i8`]);
//! - [`sidecar`]: the [`Sidecar`] schema, [`read_sidecar`], [`write_sidecar`];
//! - [`read_configurations`] / [`write_configurations`]: a [`Configurations`] as an `.npy`.
//!
//! ```
//! use lattice_physics::{io, Configurations, Lattice};
//! let data = Configurations::new(Lattice::ring(4)?, vec![1, -1, 1, 1, -1, -1, -1, -1])?;
//! let mut bytes = Vec::new();
//! io::write_configurations(&mut bytes, &data)?;
//! let back = io::configurations_from_bytes(&bytes, 1 << 20)?;
//! assert_eq!(back, data);
//! # Ok::<(), lattice_physics::Error>(())
//! ```

pub mod npy;
pub mod sidecar;

use std::io::{Read, Write};

pub use sidecar::{read_sidecar, sidecar_from_bytes, write_sidecar, Sidecar, Source};

use crate::configurations::Configurations;
use crate::error::{Error, Result};
use crate::lattice::Lattice;

/// Turn a unit array of shape `(samples, L)` or `(samples, L, L)` into configurations.
pub fn configurations_from_units(array: npy::UnitArray) -> Result<Configurations> {
    let shape = array.shape;
    if shape.len() < 2 || shape[0] == 0 {
        return Err(Error::DatasetShape { shape });
    }
    let lattice = Lattice::from_shape(&shape[1..]).map_err(|e| match e {
        Error::UnsupportedShape { .. } => Error::DatasetShape { shape: shape.clone() },
        other => other,
    })?;
    Configurations::new(lattice, array.values)
}

/// Read a `.npy` spin data set (values `±1` in any supported dtype) from `reader`, which holds
/// exactly `input_len` bytes; the spins must fit in `limit` bytes.
pub fn read_configurations<R: Read>(reader: R, input_len: u64, limit: u64) -> Result<Configurations> {
    configurations_from_units(npy::read_units(reader, input_len, limit)?)
}

/// [`read_configurations`] on a byte slice.
pub fn configurations_from_bytes(bytes: &[u8], limit: u64) -> Result<Configurations> {
    read_configurations(bytes, bytes.len() as u64, limit)
}

/// Write configurations as an int8 `.npy` of shape `(samples, L)` or `(samples, L, L)`.
pub fn write_configurations<W: Write>(writer: W, data: &Configurations) -> Result<()> {
    npy::write_i8(writer, &data.shape(), data.as_slice())
}
