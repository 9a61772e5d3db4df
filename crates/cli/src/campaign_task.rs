//! One task of a `kadanoff campaign`: sample the task's model, write its data set, statistics
//! and analyses, then its `record.json` (last, atomically) listing every output with its length
//! and FNV-1a hash; `cmd_campaign.rs` plans, schedules and merges.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use kadanoff_analysis::campaign::{
    self, Analysis, CampaignModel, OutputRecord, Task, TaskMcrg, TaskRecord, TaskStats,
};
use lattice_physics::{observables, Configurations, IsingModel};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use rg_transforms::mcrg::{mcrg, McrgConfig};

use crate::cmd_campaign::{pretty, write_atomic, Loaded};
use crate::progress::Progress;
use crate::ModelKind;

/// The `.npy` bytes of a data set, exactly as `kadanoff sample` writes them.
fn npy_bytes(shape: &[usize], spins: Vec<i8>) -> Result<Vec<u8>> {
    let array =
        ArrayD::from_shape_vec(IxDyn(shape), spins).context("data shape does not match its length")?;
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).map_err(|e| anyhow!("cannot write .npy data: {e}"))?;
    Ok(bytes)
}

fn est(e: &lattice_physics::stats::Estimate) -> campaign::Measured {
    campaign::Measured { mean: e.mean, stderr: e.stderr }
}

/// Run one task; returns its wall-clock time in seconds.
pub(crate) fn run_task(loaded: &Loaded, task: &Task) -> Result<f64> {
    let started = Instant::now();
    let c = &loaded.campaign;
    let spec = c.spec();
    let dir = loaded.task_dir(task);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Unfinished until the new record is written.
    let record_path = dir.join("record.json");
    if record_path.exists() {
        std::fs::remove_file(&record_path)
            .with_context(|| format!("cannot remove {}", record_path.display()))?;
    }
    let model_kind = match spec.model {
        CampaignModel::Ising2d => ModelKind::Ising2d,
        CampaignModel::Ising1d => ModelKind::Ising1d,
    };
    let lattice = model_kind.lattice(task.size)?;
    let model = IsingModel::new(lattice, task.coupling, 0.0)?;
    crate::budget::check_array(
        &format!("{} samples of {} spins", spec.samples, lattice.num_sites()),
        &[spec.samples, lattice.num_sites()],
        1,
    )?;
    let config = c.dataset_config(task);
    let data = crate::cmd_sample::generate_with_progress(
        model,
        c.algorithm(),
        &config,
        &Progress::new(true),
        "sampling",
    )?;
    // A task's summary needs error bars: a series too short for them (possible only with a
    // fixed --thin) fails the task, as it did before the data could be kept.
    let statistics = data.statistics().context("the task's statistics")?.clone();

    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let shape = {
        let mut s = vec![spec.samples];
        s.extend(lattice.shape());
        s
    };
    let thermalize = spec.thermalize.to_string();
    let thin = spec.thin.to_string();
    let request = crate::cmd_sample::SampleRequest {
        model: model_kind,
        coupling: task.coupling,
        field: 0.0,
        seed: task.derived_seed,
        samples: spec.samples,
        chains: spec.chains,
        thermalize: &thermalize,
        thin: &thin,
        output: Path::new("spins.npy"),
    };
    let mut meta = crate::cmd_sample::metadata(&request, lattice, c.algorithm(), &data, 0.0);
    // Times differ from run to run; the task record keeps the wall-clock time instead.
    meta.elapsed_seconds = None;

    let o = &statistics.observables;
    let mut obs = std::collections::BTreeMap::new();
    obs.insert("energy_per_site".to_string(), est(&o.energy_per_site));
    obs.insert("abs_magnetization".to_string(), est(&o.abs_magnetization));
    obs.insert("magnetization_sq".to_string(), est(&o.magnetization_sq));
    obs.insert("specific_heat_per_site".to_string(), est(&o.specific_heat_per_site));
    obs.insert("susceptibility_per_site".to_string(), est(&o.susceptibility_per_site));
    obs.insert("binder_cumulant".to_string(), est(&o.binder_cumulant));
    // One validated data set for every analysis of the task.
    let configurations = Configurations::new(lattice, data.spins.clone())?;
    let corr = observables::correlations(&configurations)?;
    if let Some(xi) = &corr.second_moment_length {
        obs.insert("second_moment_correlation_length".to_string(), est(xi));
    }
    let stats = TaskStats {
        observables: obs,
        tau_energy_sweeps: statistics.tau_energy.tau,
        tau_abs_magnetization_sweeps: statistics.tau_abs_magnetization.tau,
    };
    let mcrg_out = if task.analyses.contains(&Analysis::Mcrg) {
        let m = spec.mcrg.ok_or_else(|| anyhow!("mcrg parameters missing"))?;
        let e = |x: &rg_transforms::mcrg::Estimate| campaign::Measured { mean: x.mean, stderr: x.stderr };
        Some(match mcrg(&configurations, &McrgConfig::standard(m.factor, m.levels, task.derived_seed)) {
            Ok(r) => TaskMcrg {
                factor: m.factor,
                levels: r
                    .levels
                    .iter()
                    .map(|l| campaign::McrgLevelValue {
                        level: l.level,
                        lattice_size: l.lattice_size,
                        y_t: e(&l.thermal.exponent),
                        y_h: e(&l.magnetic.exponent),
                    })
                    .collect(),
                error: None,
            },
            // Data-dependent (e.g. a singular G matrix in the ordered phase): recorded, not fatal.
            Err(err) => TaskMcrg { factor: m.factor, levels: Vec::new(), error: Some(err.to_string()) },
        })
    } else {
        None
    };

    outputs.push(("spins.npy".into(), npy_bytes(&shape, data.spins)?));
    outputs.push(("spins.json".into(), pretty(&meta)?));
    outputs.push(("stats.json".into(), pretty(&stats)?));
    if let Some(m) = &mcrg_out {
        outputs.push(("mcrg.json".into(), pretty(m)?));
    }
    let mut records = Vec::new();
    for (name, bytes) in &outputs {
        write_atomic(&dir.join(name), bytes)?;
        records.push(OutputRecord::of(name.clone(), bytes));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let record = TaskRecord {
        kind: "kadanoff.campaign.task".into(),
        campaign: spec.name.clone(),
        campaign_hash: c.hash().to_string(),
        task: task.clone(),
        outputs: records,
        elapsed_seconds: elapsed,
    };
    write_atomic(&record_path, &pretty(&record)?)?;
    Ok(elapsed)
}
