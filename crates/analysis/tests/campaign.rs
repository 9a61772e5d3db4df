//! The campaign plan, hash, verification and summary rules.

use std::collections::BTreeMap;

use kadanoff_analysis::campaign::{
    derive_seed, summary, verify, Analysis, Campaign, CampaignModel, CampaignSpec, FoundRecord, McrgSpec,
    Measured, OutputRecord, SlurmSpec, SweepCount, TaskRecord, TaskStats,
};
use kadanoff_analysis::Error;

fn spec(couplings: Vec<f64>) -> CampaignSpec {
    CampaignSpec {
        name: "t".into(),
        output: "out".into(),
        model: CampaignModel::Ising2d,
        sizes: vec![4, 8],
        couplings,
        algorithm: "metropolis".into(),
        samples: 100,
        chains: 2,
        thermalize: SweepCount::Fixed(10),
        thin: SweepCount::Fixed(1),
        seeds: vec![1, 2],
        analyses: vec![Analysis::Stats, Analysis::Mcrg],
        mcrg: Some(McrgSpec { factor: 2, levels: 1 }),
        slurm: SlurmSpec {
            throttle: 2,
            cpus_per_task: 1,
            mem: "1G".into(),
            time: "00:01:00".into(),
            partition: None,
        },
    }
}

#[test]
fn tasks_are_in_grid_order_with_seeds_that_depend_only_on_their_point() {
    let c = Campaign::new(spec(vec![0.3, 0.4])).unwrap();
    let keys: Vec<(usize, f64, u64)> = c.tasks().iter().map(|t| (t.size, t.coupling, t.seed)).collect();
    assert_eq!(
        keys,
        [
            (4, 0.3, 1),
            (4, 0.3, 2),
            (4, 0.4, 1),
            (4, 0.4, 2),
            (8, 0.3, 1),
            (8, 0.3, 2),
            (8, 0.4, 1),
            (8, 0.4, 2)
        ]
    );
    let wider = Campaign::new(spec(vec![0.3, 0.35, 0.4])).unwrap();
    for t in c.tasks() {
        assert_eq!(t.derived_seed, derive_seed(t.seed, t.size, t.coupling));
        let same = wider
            .tasks()
            .iter()
            .find(|u| (u.size, u.coupling, u.seed) == (t.size, t.coupling, t.seed))
            .unwrap();
        assert_eq!(same.derived_seed, t.derived_seed);
    }
    let mut seeds: Vec<u64> = wider.tasks().iter().map(|t| t.derived_seed).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), wider.tasks().len());
    // MCRG only where L / 2 ≥ 4.
    assert!(c.tasks().iter().all(|t| t.analyses.contains(&Analysis::Mcrg) == (t.size == 8)));
}

#[test]
fn the_hash_covers_results_not_resources_or_location() {
    let a = Campaign::new(spec(vec![0.3])).unwrap();
    let mut s = spec(vec![0.3]);
    s.output = "elsewhere".into();
    s.slurm.throttle = 9;
    s.slurm.mem = "8G".into();
    assert_eq!(Campaign::new(s).unwrap().hash(), a.hash());
    let mut s = spec(vec![0.3]);
    s.thin = SweepCount::Fixed(2);
    assert_ne!(Campaign::new(s).unwrap().hash(), a.hash());
    assert_ne!(Campaign::new(spec(vec![0.31])).unwrap().hash(), a.hash());
}

#[test]
fn invalid_specs_are_refused() {
    let mut bad = vec![spec(vec![]), spec(vec![0.3, 0.3]), spec(vec![f64::NAN])];
    let mut s = spec(vec![0.3]);
    s.analyses = vec![Analysis::Mcrg];
    bad.push(s);
    let mut s = spec(vec![0.3]);
    s.mcrg = None;
    bad.push(s);
    let mut s = spec(vec![0.3]);
    s.slurm.time = "1:00\nrm -rf /".into();
    bad.push(s);
    let mut s = spec(vec![0.3]);
    s.chains = 500;
    bad.push(s);
    let mut s = spec(vec![0.3]);
    s.name = "a b".into();
    bad.push(s);
    for s in bad {
        assert!(matches!(Campaign::new(s.clone()), Err(Error::InvalidCampaign { .. })), "{s:?}");
    }
}

fn found(c: &Campaign, index: usize, content: &[u8]) -> FoundRecord {
    FoundRecord {
        location: format!("tasks/task-{index:04}"),
        record: TaskRecord {
            kind: "kadanoff.campaign.task".into(),
            campaign: "t".into(),
            campaign_hash: c.hash().into(),
            task: c.tasks()[index].clone(),
            outputs: vec![OutputRecord::of("spins.npy", b"recorded content")],
            elapsed_seconds: 0.0,
        },
        found: vec![Some(OutputRecord::of("spins.npy", content))],
    }
}

#[test]
fn verify_refuses_missing_duplicated_foreign_truncated_and_corrupted_tasks() {
    let c = Campaign::new(spec(vec![0.3])).unwrap();
    let all =
        |c: &Campaign| (0..c.tasks().len()).map(|i| found(c, i, b"recorded content")).collect::<Vec<_>>();
    assert_eq!(verify(&c, all(&c)).unwrap().len(), 4);

    let mut v = all(&c);
    v.remove(2);
    assert!(matches!(verify(&c, v), Err(Error::MissingTasks { count: 1, total: 4, first: 2 })));
    let mut v = all(&c);
    v.push(found(&c, 1, b"recorded content"));
    assert!(matches!(verify(&c, v), Err(Error::DuplicateTask { task: 1, .. })));
    let other = Campaign::new(spec(vec![0.5])).unwrap();
    let mut v = all(&c);
    v[3] = found(&other, 3, b"recorded content");
    assert!(matches!(verify(&c, v), Err(Error::ForeignTask { .. })));
    let mut v = all(&c);
    v[0] = found(&c, 0, b"recorded");
    assert!(
        matches!(verify(&c, v), Err(Error::BadOutput { ref problem, .. }) if problem.starts_with("truncated"))
    );
    let mut v = all(&c);
    v[0] = found(&c, 0, b"recorded CONTENT");
    assert!(
        matches!(verify(&c, v), Err(Error::BadOutput { ref problem, .. }) if problem.starts_with("corrupted"))
    );
    let mut v = all(&c);
    v[1].found[0] = None;
    assert!(matches!(verify(&c, v), Err(Error::BadOutput { ref problem, .. }) if problem == "missing"));
}

#[test]
fn seeds_combine_by_mean_with_errors_in_quadrature_beside_kaufman() {
    let mut s = spec(vec![0.3]);
    s.sizes = vec![4];
    s.analyses = vec![Analysis::Stats];
    s.mcrg = None;
    let c = Campaign::new(s).unwrap();
    let stats = |e: f64, err: f64| TaskStats {
        observables: BTreeMap::from([("energy_per_site".to_string(), Measured { mean: e, stderr: err })]),
        tau_energy_sweeps: 1.0,
        tau_abs_magnetization_sweeps: 1.0,
    };
    let results = vec![
        (c.tasks()[1].clone(), stats(-0.80, 0.04), None),
        (c.tasks()[0].clone(), stats(-0.90, 0.03), None),
    ];
    let sum = summary(&c, &results).unwrap();
    let o = &sum.points[0].observables["energy_per_site"];
    assert!((o.mean - (-0.85)).abs() < 1e-15);
    assert!((o.stderr - 0.025).abs() < 1e-15);
    let exact = lattice_physics::exact::kaufman(4, 0.3).unwrap().energy_per_site;
    assert_eq!(o.exact, Some(exact));
    assert!((o.deviation_sigma.unwrap() - (-0.85 - exact) / 0.025).abs() < 1e-12);
    assert_eq!(o.seeds.iter().map(|v| v.seed).collect::<Vec<_>>(), [1, 2]);
    let figures = sum.figures(CampaignModel::Ising2d).unwrap();
    assert_eq!(figures.len(), 1);
    assert!(figures[0].1.contains("exact, L = 4"));
}
