//! Files at the boundary: atomic writes, and opening inputs safely.
//!
//! Every output is first written to a temporary file in the destination directory and then
//! renamed over the destination, so an interrupted or failed run never leaves a partial file
//! and never destroys an existing one it was not allowed to replace. Temporary files are
//! removed when their [`PendingOutput`] is dropped, and on SIGINT, SIGTERM and SIGHUP by a
//! handler installed with [`install_signal_cleanup`]; temporaries left by processes that died
//! otherwise (SIGKILL, abort) are swept the next time the same output is claimed. Temporary
//! names never exceed the file-system limit of 255 bytes.
//!
//! Inputs are opened as regular files only (a FIFO, a directory or a device is refused before
//! anything is read), data sets are read with the memory budget as their byte limit, and
//! sidecars with a size limit. The formats themselves live in `lattice_physics::io`.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use lattice_physics::io::{self, Sidecar};
use lattice_physics::Configurations;

/// Longest file name (in bytes) of the file systems we write to.
const NAME_MAX: usize = 255;

/// Bytes of the destination name kept in a temporary name (the rest is a hash).
const TMP_PREFIX_MAX: usize = 200;

/// Temporary files not yet committed, removed by the signal handler.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove every pending temporary file on SIGINT, SIGTERM or SIGHUP, then exit with code 130.
/// Called once, at the start of `main`.
pub fn install_signal_cleanup() {
    let installed = ctrlc::set_handler(|| {
        for tmp in pending().iter() {
            let _ = fs::remove_file(tmp);
        }
        eprintln!("kadanoff: interrupted; no output was written");
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("kadanoff: warning: cannot install the interrupt handler ({e}); an interrupted run may leave a temporary file");
    }
}

/// 64-bit FNV-1a, a stable hash for temporary names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The part of a temporary name shared by every process writing `name`:
/// `.{first ≤200 bytes of name}-{hash of name}.`; the PID and `.tmp` follow.
fn tmp_tag(name: &OsStr) -> String {
    let lossy = name.to_string_lossy();
    let mut cut = lossy.len().min(TMP_PREFIX_MAX);
    while !lossy.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}-{:016x}.", &lossy[..cut], fnv1a(name.as_encoded_bytes()))
}

/// Whether process `pid` is alive (Linux: `/proc/PID` exists; elsewhere assumed alive).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Remove temporaries of `tag` in `dir` left by processes that no longer run.
fn sweep_stale(dir: &Path, tag: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name.strip_prefix(tag).and_then(|r| r.strip_suffix(".tmp")) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A destination claimed at the start of a command: existence checked against `--force` and the
/// directory proven writable by creating the temporary file up front, before any long work.
/// Dropped without [`PendingOutput::commit`], the temporary file is removed.
pub struct PendingOutput {
    dest: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl PendingOutput {
    /// Claim `dest`. Fails if it exists and `force` is false, if it names a directory, or if its
    /// directory is not writable.
    pub fn claim(dest: &Path, force: bool) -> Result<Self> {
        if dest.as_os_str().as_encoded_bytes().ends_with(b"/") || dest.is_dir() {
            bail!("{} names a directory, not a file", dest.display());
        }
        if dest.exists() && !force {
            bail!("{} already exists (use --force to overwrite)", dest.display());
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            bail!("output directory {} does not exist", dir.display());
        }
        let name = dest.file_name().ok_or_else(|| anyhow!("{} is not a file name", dest.display()))?;
        if name.len() > NAME_MAX {
            bail!("{}: the file name is longer than {NAME_MAX} bytes", dest.display());
        }
        let tag = tmp_tag(name);
        sweep_stale(&dir, &tag);
        let tmp = dir.join(format!("{tag}{}.tmp", std::process::id()));
        debug_assert!(tmp.file_name().is_some_and(|n| n.len() <= NAME_MAX));
        // Register before creating, so that a signal in between cannot leave the file.
        pending().push(tmp.clone());
        if let Err(e) = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp) {
            pending().retain(|p| p != &tmp);
            return Err(anyhow!("cannot create a file in directory {}: {e}", dir.display()));
        }
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
        pending().retain(|p| p != &self.tmp);
        Ok(())
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
            pending().retain(|p| p != &self.tmp);
        }
    }
}

/// Open `path` for reading if it is a regular file (following symbolic links), and return it
/// with its length. FIFOs, directories and devices are refused before anything is read.
pub fn open_regular(path: &Path, what: &str) -> Result<(File, u64)> {
    let meta = match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what} {} does not exist", path.display())
        }
        other => other.with_context(|| format!("cannot read {what} {}", path.display()))?,
    };
    if !meta.is_file() {
        bail!("{what} {} is not a regular file", path.display());
    }
    let file = File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))?;
    // The path may have been replaced between the two calls: check what was opened.
    let meta = file.metadata().with_context(|| format!("cannot read {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!("{what} {} is not a regular file", path.display());
    }
    Ok((file, meta.len()))
}

/// Largest side file (campaign, record, kernel, cache entry) read whole: 16 MiB.
pub const MAX_SIDE_FILE_BYTES: u64 = 16 << 20;

/// Read all of `path`, a regular file of at most `limit` bytes (checked before reading, and
/// while reading in case the file grows). `what` names the file in messages.
pub fn read_limited(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let (file, len) = open_regular(path, what)?;
    if len > limit {
        bail!(
            "{what} {} is {} long, more than the {} such a file may have",
            path.display(),
            crate::budget::human(len as u128),
            crate::budget::human(limit as u128)
        );
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{what} {} grew beyond {} while it was read",
            path.display(),
            crate::budget::human(limit as u128)
        );
    }
    Ok(bytes)
}

/// Read a side file (at most [`MAX_SIDE_FILE_BYTES`]) as UTF-8 text.
pub fn read_side_text(path: &Path, what: &str) -> Result<String> {
    let bytes = read_limited(path, what, MAX_SIDE_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|_| anyhow!("{what} {} is not UTF-8 text", path.display()))
}

/// Read an output file back whole for hashing, within the memory budget; `None` if it does
/// not exist or cannot be read as a regular file.
pub fn read_output_back(path: &Path) -> Option<Vec<u8>> {
    let limit = crate::budget::bytes().ok()?;
    read_limited(path, "output", limit).ok()
}

/// The JSON sidecar path of a data file: `FILE.npy` → `FILE.json`.
pub fn sidecar_path(npy: &Path) -> PathBuf {
    npy.with_extension("json")
}

/// Write a `±1` data set as an int8 `.npy` of the given shape into a pending output.
pub fn write_spins(out: &PendingOutput, shape: &[usize], spins: Vec<i8>) -> Result<()> {
    out.write_with(|w| {
        io::npy::write_i8(w, shape, &spins).map_err(|e| anyhow!("cannot write .npy data: {e}"))
    })
}

/// Write a data set as an int8 `.npy` into a pending output.
pub fn write_configurations(out: &PendingOutput, data: &Configurations) -> Result<()> {
    out.write_with(|w| io::write_configurations(w, data).map_err(|e| anyhow!("cannot write .npy data: {e}")))
}

/// Write a sidecar into a pending output.
pub fn write_sidecar(out: &PendingOutput, sidecar: &Sidecar) -> Result<()> {
    out.write_with(|w| io::write_sidecar(w, sidecar).map_err(|e| anyhow!("cannot write the sidecar: {e}")))
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

fn read_units(path: &Path) -> Result<io::npy::UnitArray> {
    let (file, len) = open_regular(path, "data file")?;
    let limit = crate::budget::bytes()?;
    io::npy::read_units(BufReader::new(file), len, limit).map_err(|e| match e {
        lattice_physics::Error::OverMemoryLimit { bytes, .. } => anyhow!(
            "{}: loading the data set would need {} (memory budget {}; set {} to raise it)",
            path.display(),
            crate::budget::human(bytes),
            crate::budget::human(limit as u128),
            crate::budget::ENV
        ),
        e => anyhow!("{}: {e}", path.display()),
    })
}

/// Read a `.npy` spin data set (`±1` values, shape `(samples, L)` or `(samples, L, L)`).
pub fn read_configurations(path: &Path) -> Result<Configurations> {
    let units = read_units(path)?;
    io::configurations_from_units(units).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Read a `.npy` data set of shape `(samples, sites...)`, at least one of each, whose values all lie in `allowed`.
pub fn read_values(path: &Path, allowed: &[i8]) -> Result<SpinData> {
    let a = read_units(path)?;
    if a.shape.len() < 2 {
        bail!(
            "{}: expected an array of shape (samples, sites...) with at least 2 axes, got shape {:?}",
            path.display(),
            a.shape
        );
    }
    if a.shape.contains(&0) {
        bail!("{}: the data set is empty (shape {:?})", path.display(), a.shape);
    }
    for x in [-1i8, 0, 1].into_iter().filter(|x| !allowed.contains(x)) {
        let Some(i) = a.values.iter().position(|&v| v == x) else { continue };
        bail!("{}: value {x} at flat index {i} is not one of {allowed:?}", path.display());
    }
    Ok(SpinData { shape: a.shape, values: a.values })
}

/// The sidecar of data file `npy`: `None` if there is none, an error if it exists but is not a
/// regular file, is too large, or does not follow the schema.
pub fn read_sidecar(npy: &Path) -> Result<Option<Sidecar>> {
    let path = sidecar_path(npy);
    match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let (file, _) = open_regular(&path, "sidecar")?;
    io::read_sidecar(BufReader::new(file), io::sidecar::MAX_SIDECAR_BYTES)
        .map(Some)
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Write `bytes` to `path` atomically (replacing it).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    let out = PendingOutput::claim(path, true)?;
    out.write_with(|w| Ok(std::io::Write::write_all(w, bytes)?))?;
    out.commit()
}

/// Write `values` of shape `shape` to the `.npy` file `path` atomically (replacing it).
pub fn write_npy<T: ndarray_npy::WritableElement>(path: &Path, shape: &[usize], v: Vec<T>) -> Result<()> {
    let mut bytes = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(&ndarray::ArrayD::from_shape_vec(shape, v)?, &mut bytes)
        .map_err(|e| anyhow!("cannot write .npy: {e}"))?;
    write_bytes(path, &bytes)
}

/// The provenance fields of a data set's sidecar that a model keeps (its `data.provenance`
/// metadata entry): what produced the data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataProvenance {
    /// `ising2d` or `ising1d`.
    pub model: String,
    /// Linear size.
    pub size: usize,
    /// Coupling `K`, when known.
    pub coupling: Option<f64>,
    /// Field `h`, when known.
    pub field: Option<f64>,
    /// Seed of the run that made the data.
    pub seed: u64,
    /// Number of configurations.
    pub samples: usize,
    /// Version of the tool that wrote the data.
    pub tool_version: String,
    /// The sampler, for Monte Carlo data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
}

/// The provenance of the data set `data` from its sidecar, if that is a regular file within the
/// sidecar size limit that parses as the sidecar schema; `None` for a missing or invalid sidecar.
pub fn read_provenance(data: &Path) -> Option<DataProvenance> {
    let s = read_sidecar(data).ok()??;
    let algorithm = if let io::Source::Sample(r) = &s.source { Some(r.algorithm.clone()) } else { None };
    Some(DataProvenance {
        model: s.model,
        size: s.size,
        coupling: s.coupling,
        field: s.field,
        seed: s.seed,
        samples: s.samples,
        tool_version: s.tool_version,
        algorithm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_and_are_shared_per_destination() {
        for len in [1, 50, 200, 244, 250, 255] {
            let name = "a".repeat(len);
            let tag = tmp_tag(OsStr::new(&name));
            let tmp = format!("{tag}{}.tmp", u32::MAX);
            assert!(tmp.len() <= NAME_MAX, "{len}: {}", tmp.len());
        }
        assert_ne!(tmp_tag(OsStr::new(&"a".repeat(250))), tmp_tag(OsStr::new(&"a".repeat(251))));
        assert_eq!(tmp_tag(OsStr::new("x.npy")), tmp_tag(OsStr::new("x.npy")));
    }
}
