//! An on-disk cache of finished steps for `kadanoff reproduce`.
//!
//! Step `name` is recorded in `DIR/steps/<name>.json`: its key (the parameters it depends on and
//! the keys of the steps it reads), its typed result, its wall time, and the FNV-1a (64-bit)
//! hash of each of its output files. A step is reused only if the key is equal, the result
//! deserialises as the expected type and every output exists with the recorded hash; otherwise
//! it is recomputed. Records are written atomically, after the outputs.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use kadanoff_analysis::study::StepTiming;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::files::{self, PendingOutput};

/// FNV-1a (64-bit) of a byte string: the cache's content hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// An output file and its content hash.
#[derive(Serialize, Deserialize, PartialEq)]
struct OutputHash {
    name: String,
    fnv1a64: String,
}

/// A cached step's record.
#[derive(Serialize, Deserialize)]
struct StepRecord {
    key: Value,
    outputs: Vec<OutputHash>,
    result: Value,
    seconds: f64,
}

/// The steps of one run: where they are cached, whether reuse is allowed, and their timings.
pub struct Steps<'a> {
    dir: &'a Path,
    force: bool,
    /// Timings of the steps run so far, in order.
    pub timings: Vec<StepTiming>,
}

impl<'a> Steps<'a> {
    /// Steps cached under `dir/steps`; `force` recomputes every step.
    pub fn new(dir: &'a Path, force: bool) -> Self {
        Steps { dir, force, timings: Vec::new() }
    }

    fn hashes(&self, outputs: &[String]) -> Option<Vec<OutputHash>> {
        let hash = |o: &String| {
            crate::files::read_output_back(&self.dir.join(o)).map(|b| format!("{:016x}", fnv1a(&b)))
        };
        outputs.iter().map(|o| Some(OutputHash { name: o.clone(), fnv1a64: hash(o)? })).collect()
    }

    /// Run `work` unless a record with the same key exists and every output matches its hash.
    pub fn run<T: Serialize + DeserializeOwned>(
        &mut self,
        name: &str,
        key: &Value,
        outputs: &[String],
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let record_path = self.dir.join("steps").join(format!("{name}.json"));
        let cached = crate::files::read_side_text(&record_path, "step record")
            .ok()
            .and_then(|s| serde_json::from_str::<StepRecord>(&s).ok());
        if let Some(rec) = cached.filter(|r| !self.force && &r.key == key) {
            if let (Ok(result), Some(hashes)) =
                (serde_json::from_value::<T>(rec.result), self.hashes(outputs))
            {
                if hashes == rec.outputs {
                    self.timings.push(StepTiming { name: name.into(), seconds: rec.seconds, reused: true });
                    return Ok(result);
                }
            }
        }
        let _ = std::fs::remove_file(&record_path);
        let t = Instant::now();
        let result = work().with_context(|| format!("step `{name}`"))?;
        let seconds = t.elapsed().as_secs_f64();
        let outputs =
            self.hashes(outputs).with_context(|| format!("step `{name}` did not write its outputs"))?;
        let rec = StepRecord { key: key.clone(), outputs, result: serde_json::to_value(&result)?, seconds };
        let out = PendingOutput::claim(&record_path, true)?;
        files::write_json(&out, &serde_json::to_value(&rec)?)?;
        out.commit()?;
        self.timings.push(StepTiming { name: name.into(), seconds, reused: false });
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1a_matches_the_reference_values() {
        // Test vectors of the FNV-1a 64-bit specification (Fowler, Noll, Vo).
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
