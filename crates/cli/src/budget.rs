//! One memory budget for every command.
//!
//! Every request for a large allocation (from a file header, a size parameter, a sample count)
//! is checked here before the allocation is made, so that an oversized request is refused with
//! one clear line instead of aborting the process. The budget is 8 GiB unless the environment
//! variable `KADANOFF_MEMORY_BUDGET` (bytes, or a number with a `K`, `M`, `G` or `T` suffix in
//! powers of 1024, e.g. `16G`) raises or lowers it.

use std::sync::OnceLock;

use anyhow::{bail, Result};

/// Name of the environment variable that sets the budget.
pub const ENV: &str = "KADANOFF_MEMORY_BUDGET";

/// The budget when nothing else is said.
pub const DEFAULT_BYTES: u64 = 8 << 30;

static BUDGET: OnceLock<Result<u64, String>> = OnceLock::new();

/// Parse a size such as `4096`, `512M`, `16G` or `1.5T` into bytes.
pub fn parse_bytes(s: &str) -> Result<u64> {
    let t = s.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => bail!("memory budget {s:?}: unknown suffix {c:?} (use K, M, G or T)"),
            };
            (&t[..i], scale)
        }
        _ => (t, 1),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("memory budget {s:?} is not a size (e.g. 8G or 1048576)"))?;
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        bail!("memory budget {s:?} must be a positive size below 16 EiB");
    }
    Ok(bytes as u64)
}

/// The budget in force, in bytes.
pub fn bytes() -> Result<u64> {
    let b = BUDGET.get_or_init(|| match std::env::var(ENV) {
        Ok(s) => parse_bytes(&s).map_err(|e| format!("{ENV}: {e:#}")),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_BYTES),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{ENV} is not valid UTF-8")),
    });
    b.clone().map_err(|e| anyhow::anyhow!(e))
}

/// Human-readable size.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Refuse `what` if it needs more than the budget. `bytes` is computed by the caller with
/// [`product`] (or other checked arithmetic), so an overflow is itself a refusal.
pub fn check(what: &str, bytes: Option<u128>) -> Result<()> {
    let budget = self::bytes()?;
    match bytes {
        Some(b) if b <= budget as u128 => Ok(()),
        Some(b) => bail!(
            "{what} would need {} (memory budget {}; set {ENV} to raise it)",
            human(b),
            human(budget as u128)
        ),
        None => bail!("{what} would need more memory than can be addressed"),
    }
}

/// Most elementary operations (multiply-adds, spin updates) one command may be asked for:
/// 10¹⁶, days of one core. Counts such as `--gibbs-steps 18446744073709551615` that
/// allocate nothing but could never finish are refused with this bound before any work.
pub const MAX_WORK: u128 = 10_000_000_000_000_000;

/// Refuse `what` if it needs more than [`MAX_WORK`] elementary operations (`None`: overflow).
pub fn check_work(what: &str, operations: Option<u128>) -> Result<()> {
    match operations {
        Some(n) if n <= MAX_WORK => Ok(()),
        Some(n) => bail!(
            "{what} would need {n:.1e} operations, more than the {MAX_WORK:.0e} one run may take",
            n = n as f64,
            MAX_WORK = MAX_WORK as f64
        ),
        None => bail!("{what} would need more operations than can be counted"),
    }
}

/// `a × b × …` in u128, `None` on overflow.
pub fn product(factors: &[u128]) -> Option<u128> {
    factors.iter().try_fold(1u128, |acc, &f| acc.checked_mul(f))
}

/// Check an array of `dims` elements of `elem_bytes` bytes each.
pub fn check_array(what: &str, dims: &[usize], elem_bytes: usize) -> Result<()> {
    let mut factors: Vec<u128> = dims.iter().map(|&d| d as u128).collect();
    factors.push(elem_bytes as u128);
    check(what, product(&factors))
}

/// Check a greedy training run on `n` samples of `n_visible` units (`kadanoff train`): the data
/// as read (i8, twice while decoded) and as f32, the training state
/// ([`rbm_core::GreedyConfig::memory_bytes`]) and `ais_chains` AIS chains per layer (f64, both
/// layers, three buffers each). Likelihoods convert the data to f64 in bounded blocks.
pub fn check_training(
    greedy: &rbm_core::GreedyConfig,
    n: usize,
    n_visible: usize,
    ais_chains: usize,
) -> Result<()> {
    let sizes = greedy.sizes(n_visible);
    let ais = sizes.windows(2).map(|w| product(&[ais_chains as u128, (w[0] + w[1]) as u128, 24]));
    let total = ais
        .chain([product(&[n as u128, n_visible as u128, 6]), greedy.memory_bytes(n, n_visible, 4)])
        .try_fold(0u128, |t, x| t.checked_add(x?));
    let shape: Vec<String> = sizes.iter().map(usize::to_string).collect();
    check(&format!("training {} on {n} samples", shape.join("→")), total)
}

/// Refuse a training run whose work could never finish: per layer of `a × b` weights, each epoch
/// costs about `n · a · b · (2 + 2k)` multiply-adds for CD-k plus the monitor's rows, and AIS
/// `chains · steps · a · b`. `counts` is `[epochs, cd_k, monitor rows, ais chains, ais steps]`.
pub fn check_training_work(sizes: &[usize], n: usize, counts: [usize; 5]) -> Result<()> {
    let [epochs, cd_k, monitor, chains, steps] = counts.map(|c| c as u128);
    let per_sample = cd_k.checked_mul(2).and_then(|k| k.checked_add(2));
    let total = sizes.windows(2).try_fold(0u128, |t, w| {
        let weights = (w[0] as u128).checked_mul(w[1] as u128)?;
        let rows = (n as u128).checked_mul(per_sample?)?.checked_add(monitor)?;
        let train = product(&[epochs, rows, weights])?;
        let ais = product(&[chains, steps, weights])?;
        t.checked_add(train)?.checked_add(ais)
    });
    check_work(&format!("{epochs} epochs of CD-{cd_k} with {chains} AIS chains of {steps} steps"), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert_eq!(parse_bytes("512M").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("16g").unwrap(), 16 << 30);
        assert_eq!(parse_bytes("1.5K").unwrap(), 1536);
        for bad in ["", "x", "0", "-1", "nan", "inf", "3Q", "1e30T"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_over_budget_and_overflow() {
        assert!(check_array("a small array", &[10, 10], 4).is_ok());
        let e = check_array("a huge array", &[1 << 40, 8, 8], 1).unwrap_err();
        assert!(e.to_string().contains("memory budget"), "{e}");
        let e = check_array("an impossible array", &[usize::MAX, usize::MAX, usize::MAX], 8).unwrap_err();
        assert!(e.to_string().contains("more memory than can be addressed"), "{e}");
    }
}
