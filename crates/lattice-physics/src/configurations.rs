//! A set of spin configurations on one lattice: the data-set type that observables accept.
//!
//! Units and signs as in [`crate::model`]: every value is a spin `±1` (`i8`), configurations are
//! stored one after another (`samples × sites`), each row-major as [`Lattice`] numbers its sites.
//! A [`Configurations`] is validated when it is built, so code that takes one never checks
//! lengths or values again.

use crate::error::{Error, Result};
use crate::lattice::Lattice;

/// At least one configuration of `±1` spins on a lattice, stored `samples × sites`, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configurations {
    lattice: Lattice,
    spins: Vec<i8>,
}

impl Configurations {
    /// Wrap `spins` (`samples × sites`): the length must be a positive multiple of the number of
    /// sites and every value `±1`.
    pub fn new(lattice: Lattice, spins: Vec<i8>) -> Result<Self> {
        let sites = lattice.num_sites();
        if spins.is_empty() || spins.len() % sites != 0 {
            return Err(Error::ConfigurationLength { len: spins.len(), sites });
        }
        if let Some(index) = spins.iter().position(|&v| v != 1 && v != -1) {
            return Err(Error::NotASpin { index, value: spins[index] });
        }
        Ok(Configurations { lattice, spins })
    }

    /// Convert units to spins and wrap them: `binary` values `0/1` become `2v - 1`, otherwise the
    /// values must already be `±1`.
    pub fn from_units(lattice: Lattice, mut values: Vec<i8>, binary: bool) -> Result<Self> {
        if binary {
            if let Some(index) = values.iter().position(|&v| v != 0 && v != 1) {
                return Err(Error::NotASpin { index, value: values[index] });
            }
            values.iter_mut().for_each(|v| *v = 2 * *v - 1);
        }
        Configurations::new(lattice, values)
    }

    /// The lattice of every configuration.
    pub fn lattice(&self) -> Lattice {
        self.lattice
    }

    /// Number of configurations (at least 1).
    pub fn samples(&self) -> usize {
        self.spins.len() / self.lattice.num_sites()
    }

    /// The shape of the data as stored in files: `[samples, n]` or `[samples, l, l]`.
    pub fn shape(&self) -> Vec<usize> {
        let mut shape = vec![self.samples()];
        shape.extend(self.lattice.shape());
        shape
    }

    /// All spins, `samples × sites`, row-major.
    pub fn as_slice(&self) -> &[i8] {
        &self.spins
    }

    /// Configuration `i` (`None` past the end).
    pub fn get(&self, i: usize) -> Option<&[i8]> {
        let n = self.lattice.num_sites();
        self.spins.get(i * n..(i + 1) * n)
    }

    /// The configurations in order.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, i8> {
        self.spins.chunks_exact(self.lattice.num_sites())
    }

    /// Consume into the raw values.
    pub fn into_vec(self) -> Vec<i8> {
        self.spins
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_data_is_refused() {
        let lat = Lattice::ring(3).unwrap();
        assert_eq!(Configurations::new(lat, vec![]), Err(Error::ConfigurationLength { len: 0, sites: 3 }));
        assert_eq!(
            Configurations::new(lat, vec![1; 4]),
            Err(Error::ConfigurationLength { len: 4, sites: 3 })
        );
        assert_eq!(
            Configurations::new(lat, vec![1, -1, 0, 1, 1, 1]),
            Err(Error::NotASpin { index: 2, value: 0 })
        );
        assert!(Configurations::from_units(lat, vec![1, -1, 1], true).is_err());
        let c = Configurations::from_units(lat, vec![1, 0, 1, 0, 0, 0], true).unwrap();
        assert_eq!(c.samples(), 2);
        assert_eq!(c.shape(), vec![2, 3]);
        assert_eq!(c.get(1), Some(&[-1i8, -1, -1][..]));
        assert_eq!(c.get(2), None);
        assert_eq!(c.iter().count(), 2);
    }
}
