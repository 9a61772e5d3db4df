//! The RBM flow of Iso, Shiba and Yokoo at the published-like size:
//! `cargo run --release -p rg-transforms --example rbm_flow -- EPOCHS SEED`.
//!
//! Prints, per hidden size, the coupling read by the exact thermometer along every flow and the
//! apparent fixed point against K_c.

use rg_transforms::rbm_flow::{experiment, ExperimentConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let (epochs, seed) = (args.first().copied().unwrap_or(50) as usize, args.get(1).copied().unwrap_or(1));
    let config = ExperimentConfig::published(epochs, seed)?;
    let t0 = std::time::Instant::now();
    let ex = experiment(&config, &|h| {
        eprintln!("[{:6.1}s] training {h} hidden units", t0.elapsed().as_secs_f64())
    })?;
    println!(
        "10×10 torus, mixture K = {:?} × {} samples, {} epochs, {:?} flows of {} steps; K_c = {:.6}",
        config.mixture.couplings,
        config.mixture.samples_per_coupling,
        epochs,
        config.mode,
        config.steps,
        ex.k_critical
    );
    for h in &ex.by_hidden {
        println!("hidden {}:", h.hidden);
        for f in &h.flows {
            let ks: Vec<String> = f
                .steps
                .iter()
                .filter(|r| r.step <= 3 || r.step % 25 == 0)
                .map(|r| format!("{}:{:.3}±{:.3}", r.step, r.coupling.mean, r.coupling.stderr))
                .collect();
            println!("  K0 = {:.2}: {}", f.start_coupling, ks.join(" "));
        }
        let fp = &h.fixed_point;
        let per: Vec<String> = fp.per_flow.iter().map(|e| format!("{:.3}±{:.3}", e.mean, e.stderr)).collect();
        println!("  last-{} means per flow: {}", fp.last_steps, per.join(" "));
        println!(
            "  apparent fixed point (last {} steps, {} readings): K* = {:.4}, spread {:.4}, max σ {:.4}; K* − K_c = {:+.4}",
            fp.last_steps,
            fp.readings,
            fp.coupling,
            fp.spread,
            fp.max_error,
            fp.coupling - ex.k_critical
        );
    }
    eprintln!("[{:6.1}s] done", t0.elapsed().as_secs_f64());
    Ok(())
}
