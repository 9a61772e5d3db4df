//! Files at the boundary: atomic writes, `.npy` spin data sets and their JSON sidecars.
//!
//! Every output is first written to a temporary file in the destination directory and then
//! renamed over the destination, so an interrupted or failed run never leaves a partial file
//! and never destroys an existing one it was not allowed to replace.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

/// A destination claimed at the start of a command: existence checked against `--force` and the
/// directory proven writable by creating the temporary file up front, before any long work.
/// Dropped without [`PendingOutput::commit`], the temporary file is removed.
pub struct PendingOutput {
    dest: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl PendingOutput {
    /// Claim `dest`. Fails if it exists and `force` is false, or if its directory is not writable.
    pub fn claim(dest: &Path, force: bool) -> Result<Self> {
        if dest.exists() && !force {
            bail!("{} already exists (use --force to overwrite)", dest.display());
        }
        if dest.is_dir() {
            bail!("{} is a directory, not a file", dest.display());
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            bail!("output directory {} does not exist", dir.display());
        }
        let name = dest.file_name().ok_or_else(|| anyhow!("{} is not a file name", dest.display()))?;
        let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .with_context(|| format!("cannot write to directory {}", dir.display()))?;
        Ok(PendingOutput { dest: dest.to_path_buf(), tmp, committed: false })
    }

    /// Write the whole content with `write` into the temporary file (not yet visible).
    pub fn write_with(&self, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
        let file = File::create(&self.tmp).with_context(|| format!("cannot write {}", self.tmp.display()))?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file =
            w.into_inner().map_err(|e| anyhow!("cannot write {}: {}", self.tmp.display(), e.error()))?;
        file.sync_all().with_context(|| format!("cannot sync {}", self.tmp.display()))?;
        Ok(())
    }

    /// Make the written content visible under the destination name (atomic rename).
    pub fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot move output into place at {}", self.dest.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The JSON sidecar path of a data file: `FILE.npy` → `FILE.json`.
pub fn sidecar_path(npy: &Path) -> PathBuf {
    npy.with_extension("json")
}

/// Write a `±1` data set as an int8 `.npy` of the given shape into a pending output.
pub fn write_spins(out: &PendingOutput, shape: &[usize], spins: Vec<i8>) -> Result<()> {
    let array =
        ArrayD::from_shape_vec(IxDyn(shape), spins).context("data shape does not match its length")?;
    out.write_with(|w| array.write_npy(w).map_err(|e| anyhow!("cannot write .npy data: {e}")))
}

/// Write pretty JSON into a pending output.
pub fn write_json(out: &PendingOutput, value: &serde_json::Value) -> Result<()> {
    out.write_with(|w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")?;
        Ok(())
    })
}

/// A data set read from disk: samples of `±1` (or, for `binary`, `0/1`) values.
pub struct SpinData {
    /// Shape of the array on disk; the first axis counts samples.
    pub shape: Vec<usize>,
    /// The values, row-major (samples × sites).
    pub values: Vec<i8>,
}

impl SpinData {
    /// Number of samples.
    pub fn samples(&self) -> usize {
        self.shape[0]
    }
}

fn read_as<T: ndarray_npy::ReadableElement + Copy>(
    path: &Path,
) -> Result<ArrayD<T>, ndarray_npy::ReadNpyError> {
    let file = File::open(path).map_err(ndarray_npy::ReadNpyError::from)?;
    ArrayD::<T>::read_npy(std::io::BufReader::new(file))
}

/// Read a `.npy` data set whose values are all `±1` (int8, or any integer or float type holding
/// exactly ±1). The first axis counts samples; there must be at least one sample and one site.
pub fn read_spins(path: &Path) -> Result<SpinData> {
    read_values(path, &[-1, 1])
}

/// Read a `.npy` data set whose values all lie in `allowed` (e.g. `[-1, 1]` or `[0, 1]`, or both).
pub fn read_values(path: &Path, allowed: &[i8]) -> Result<SpinData> {
    if !path.is_file() {
        bail!("{} does not exist or is not a file", path.display());
    }
    let describe =
        |e: ndarray_npy::ReadNpyError| anyhow!("{} is not a readable .npy data set: {e}", path.display());
    let (shape, values): (Vec<usize>, Vec<f64>) = match read_as::<i8>(path) {
        Ok(a) => {
            let shape = a.shape().to_vec();
            let v: Vec<i8> = a.iter().copied().collect();
            return finish(path, shape, v, allowed);
        }
        Err(ndarray_npy::ReadNpyError::WrongDescriptor(_)) => {
            if let Ok(a) = read_as::<i64>(path) {
                (a.shape().to_vec(), a.iter().map(|&x| x as f64).collect())
            } else if let Ok(a) = read_as::<i32>(path) {
                (a.shape().to_vec(), a.iter().map(|&x| x as f64).collect())
            } else if let Ok(a) = read_as::<i16>(path) {
                (a.shape().to_vec(), a.iter().map(|&x| x as f64).collect())
            } else if let Ok(a) = read_as::<u8>(path) {
                (a.shape().to_vec(), a.iter().map(|&x| x as f64).collect())
            } else if let Ok(a) = read_as::<f32>(path) {
                (a.shape().to_vec(), a.iter().map(|&x| x as f64).collect())
            } else {
                let a = read_as::<f64>(path).map_err(describe)?;
                (a.shape().to_vec(), a.iter().copied().collect())
            }
        }
        Err(e) => return Err(describe(e)),
    };
    let mut v = Vec::with_capacity(values.len());
    for (i, x) in values.into_iter().enumerate() {
        if x.fract() != 0.0 || !(-1.0..=1.0).contains(&x) {
            bail!("{}: value {x} at flat index {i} is not a unit value {allowed:?}", path.display());
        }
        v.push(x as i8);
    }
    finish(path, shape, v, allowed)
}

fn finish(path: &Path, shape: Vec<usize>, values: Vec<i8>, allowed: &[i8]) -> Result<SpinData> {
    if shape.len() < 2 {
        bail!(
            "{}: expected an array of shape (samples, sites...) with at least 2 axes, got shape {shape:?}",
            path.display()
        );
    }
    if shape.contains(&0) {
        bail!("{}: the data set is empty (shape {shape:?})", path.display());
    }
    if let Some((i, &x)) = values.iter().enumerate().find(|(_, x)| !allowed.contains(x)) {
        bail!("{}: value {x} at flat index {i} is not one of {allowed:?}", path.display());
    }
    Ok(SpinData { shape, values })
}
