//! The merged summary of a campaign: every observable per point (size, coupling), combined over
//! seeds, beside exact values where they exist; a text table and one SVG figure per observable.
//!
//! Seeds of one point are independent runs with equal sample counts, so they are combined by the
//! plain mean, with standard error `sqrt(Σ σ_i²) / n`.

use std::collections::BTreeMap;

use lattice_physics::exact;
use serde::{Deserialize, Serialize};

use super::{Campaign, CampaignModel, Task};
use crate::error::{Error, Result};
use crate::plot::{LinePlot, Series, SeriesStyle};

/// A value with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// Estimate.
    pub mean: f64,
    /// Standard error.
    pub stderr: f64,
}

/// `stats.json` of one task: observables per site with errors (the `kadanoff stats` keys), and the
/// measured autocorrelation times in sweeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStats {
    /// Observable name → estimate (`energy_per_site`, `specific_heat_per_site`, …).
    pub observables: BTreeMap<String, Measured>,
    /// `τ_int` of `B`, in sweeps.
    pub tau_energy_sweeps: f64,
    /// `τ_int` of `|m|`, in sweeps.
    pub tau_abs_magnetization_sweeps: f64,
}

/// One MCRG level of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McrgLevelValue {
    /// Blocking level `n`.
    pub level: usize,
    /// Linear size of the blocked lattice.
    pub lattice_size: usize,
    /// Thermal exponent `y_t` (exact 1).
    pub y_t: Measured,
    /// Magnetic exponent `y_h` (exact 15/8).
    pub y_h: Measured,
}

/// `mcrg.json` of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMcrg {
    /// Block factor.
    pub factor: usize,
    /// One entry per level (empty when MCRG failed on this data).
    pub levels: Vec<McrgLevelValue>,
    /// Why MCRG gave no result on this data (e.g. a singular correlation matrix deep in the
    /// ordered phase); the task itself still succeeds.
    pub error: Option<String>,
}

/// One seed's value of one observable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeedValue {
    /// The campaign seed.
    pub seed: u64,
    /// Task index.
    pub task: usize,
    /// Estimate.
    pub mean: f64,
    /// Standard error.
    pub stderr: f64,
}

/// One observable at one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservableSummary {
    /// Mean over seeds.
    pub mean: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Exact value of the finite system, if known.
    pub exact: Option<f64>,
    /// `(mean - exact) / stderr`, if an exact value is known and `stderr > 0`.
    pub deviation_sigma: Option<f64>,
    /// Per-seed values.
    pub seeds: Vec<SeedValue>,
}

/// One point of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
    /// Linear size.
    pub size: usize,
    /// Coupling `K`.
    pub coupling: f64,
    /// Observable name → summary (sorted by name).
    pub observables: BTreeMap<String, ObservableSummary>,
}

/// The merged campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `kadanoff.campaign.summary`.
    pub kind: String,
    /// Campaign name.
    pub campaign: String,
    /// Campaign hash.
    pub campaign_hash: String,
    /// Model name.
    pub model: String,
    /// Sampler name.
    pub algorithm: String,
    /// Number of tasks merged.
    pub tasks: usize,
    /// Where the exact values come from.
    pub exact_method: String,
    /// Points in grid order (sizes, then couplings).
    pub points: Vec<PointSummary>,
}

fn exact_values(model: CampaignModel, size: usize, k: f64) -> BTreeMap<&'static str, f64> {
    let mut m = BTreeMap::new();
    match model {
        CampaignModel::Ising2d => {
            if let Ok(t) = exact::kaufman(size, k) {
                m.insert("energy_per_site", t.energy_per_site);
                m.insert("specific_heat_per_site", t.specific_heat_per_site);
            }
        }
        CampaignModel::Ising1d => {
            if let Ok(r) = exact::ring(size, k, 0.0) {
                m.insert("energy_per_site", r.energy_per_site);
                m.insert("specific_heat_per_site", r.specific_heat_per_site);
            }
        }
    }
    m
}

/// Merge the per-task results (one `(task, stats, mcrg)` per task, any order) into a summary.
/// MCRG exponents appear as observables `mcrg_y_t_level_N` and `mcrg_y_h_level_N`.
pub fn summary(campaign: &Campaign, results: &[(Task, TaskStats, Option<TaskMcrg>)]) -> Result<Summary> {
    let spec = campaign.spec();
    let mut points = Vec::new();
    for &size in &spec.sizes {
        for &coupling in &spec.couplings {
            let mut values: BTreeMap<String, Vec<SeedValue>> = BTreeMap::new();
            let mut here: Vec<&(Task, TaskStats, Option<TaskMcrg>)> =
                results.iter().filter(|(t, _, _)| t.size == size && t.coupling == coupling).collect();
            here.sort_by_key(|(t, _, _)| t.index);
            if here.len() != spec.seeds.len() {
                let have: Vec<usize> = here.iter().map(|(t, _, _)| t.index).collect();
                let planned = campaign.tasks().iter().filter(|t| t.size == size && t.coupling == coupling);
                let missing: Vec<usize> = planned.map(|t| t.index).filter(|i| !have.contains(i)).collect();
                return Err(Error::MissingTasks {
                    count: missing.len(),
                    total: campaign.tasks().len(),
                    first: missing.first().copied().unwrap_or(0),
                });
            }
            for (t, stats, mcrg) in here {
                let mut push = |name: String, v: Measured| {
                    values.entry(name).or_default().push(SeedValue {
                        seed: t.seed,
                        task: t.index,
                        mean: v.mean,
                        stderr: v.stderr,
                    });
                };
                for (name, v) in &stats.observables {
                    push(name.clone(), *v);
                }
                if let Some(m) = mcrg {
                    for l in &m.levels {
                        push(format!("mcrg_y_t_level_{}", l.level), l.y_t);
                        push(format!("mcrg_y_h_level_{}", l.level), l.y_h);
                    }
                }
            }
            let exact = exact_values(spec.model, size, coupling);
            let observables = values
                .into_iter()
                .map(|(name, seeds)| {
                    let n = seeds.len() as f64;
                    let mean = seeds.iter().map(|s| s.mean).sum::<f64>() / n;
                    let stderr = seeds.iter().map(|s| s.stderr * s.stderr).sum::<f64>().sqrt() / n;
                    let exact = exact.get(name.as_str()).copied();
                    let deviation_sigma = exact.filter(|_| stderr > 0.0).map(|x| (mean - x) / stderr);
                    (name, ObservableSummary { mean, stderr, exact, deviation_sigma, seeds })
                })
                .collect();
            points.push(PointSummary { size, coupling, observables });
        }
    }
    Ok(Summary {
        kind: "kadanoff.campaign.summary".into(),
        campaign: spec.name.clone(),
        campaign_hash: campaign.hash().to_string(),
        model: spec.model.name().into(),
        algorithm: spec.algorithm.clone(),
        tasks: results.len(),
        exact_method: match spec.model {
            CampaignModel::Ising2d => "Kaufman (finite periodic L×L lattice)".into(),
            CampaignModel::Ising1d => "transfer matrix (periodic ring)".into(),
        },
        points,
    })
}

impl Summary {
    /// Observable names present at any point, sorted.
    pub fn observable_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.points.iter().flat_map(|p| p.observables.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// A fixed-width text table: one row per point and observable.
    pub fn table(&self) -> String {
        let mut out = format!(
            "campaign {} ({} tasks, {} {}), exact: {}\n",
            self.campaign, self.tasks, self.model, self.algorithm, self.exact_method
        );
        out.push_str(&format!(
            "{:>5} {:>10}  {:<32} {:>14} {:>12} {:>14} {:>8}\n",
            "L", "K", "observable", "mean", "stderr", "exact", "dev"
        ));
        for p in &self.points {
            for (name, o) in &p.observables {
                let exact = o.exact.map_or("-".to_string(), |x| format!("{x:.8}"));
                let dev = o.deviation_sigma.map_or("-".to_string(), |d| format!("{d:+.2}σ"));
                out.push_str(&format!(
                    "{:>5} {:>10.6}  {:<32} {:>14.8} {:>12.8} {:>14} {:>8}\n",
                    p.size, p.coupling, name, o.mean, o.stderr, exact, dev
                ));
            }
        }
        out
    }

    /// One SVG per observable (name, SVG): measured values against `K`, one series per size with
    /// error bars, and the exact curve of every size (dashed, on a fine grid) where it exists.
    pub fn figures(&self, model: CampaignModel) -> Result<Vec<(String, String)>> {
        let mut sizes: Vec<usize> = self.points.iter().map(|p| p.size).collect();
        sizes.dedup();
        let mut out = Vec::new();
        for name in self.observable_names() {
            let mut plot = LinePlot::new(
                format!("{} against K ({})", name, self.campaign),
                "coupling K = βJ",
                name.clone(),
            );
            for &size in &sizes {
                let mut pts: Vec<(f64, f64, f64)> = self
                    .points
                    .iter()
                    .filter(|p| p.size == size)
                    .filter_map(|p| p.observables.get(&name).map(|o| (p.coupling, o.mean, o.stderr)))
                    .filter(|(_, m, e)| m.is_finite() && e.is_finite())
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                if pts.is_empty() {
                    continue;
                }
                let (lo, hi) = (pts[0].0, pts[pts.len() - 1].0);
                plot.series.push(Series::with_errors(
                    format!("L = {size}"),
                    pts.iter().map(|&(k, m, _)| (k, m)).collect(),
                    pts.iter().map(|&(_, _, e)| e).collect(),
                    SeriesStyle::Markers,
                ));
                let has_exact = self
                    .points
                    .iter()
                    .any(|p| p.size == size && p.observables.get(&name).is_some_and(|o| o.exact.is_some()));
                if has_exact {
                    let n = 60;
                    let curve: Vec<(f64, f64)> = (0..=n)
                        .map(|i| lo + (hi - lo) * i as f64 / n as f64)
                        .filter_map(|k| exact_values(model, size, k).get(name.as_str()).map(|&v| (k, v)))
                        .collect();
                    if !curve.is_empty() {
                        plot.series.push(Series::new(
                            format!("exact, L = {size}"),
                            curve,
                            SeriesStyle::Dashed,
                        ));
                    }
                }
            }
            if plot.series.is_empty() {
                continue;
            }
            out.push((name, plot.to_svg()?));
        }
        Ok(out)
    }
}
