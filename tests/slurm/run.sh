#!/usr/bin/env bash
# A real Slurm test of `kadanoff campaign`: start a one-node cluster on this machine (munged,
# slurmctld and slurmd on loopback, a generated slurm.conf in a temporary directory), submit a
# tiny campaign (3 couplings × 2 sizes × 2 seeds = 12 tasks) as an sbatch array job, wait for it,
# merge, and check that every output equals a local `campaign run --jobs 2` of the same campaign,
# byte for byte. Everything it starts is stopped on exit; every wait has a timeout.
#
# Usage: bash tests/slurm/run.sh        (KADANOFF=path/to/kadanoff to skip the build)
# Needs Debian's slurm-wlm and munge; installs them with apt-get when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm test: installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

if [ -z "${KADANOFF:-}" ]; then
    cargo build --release --locked -p kadanoff --quiet
    KADANOFF="$PWD/target/release/kadanoff"
fi
export KADANOFF

T=$(mktemp -d /tmp/kadanoff-slurm.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/munge" "$T/key" "$T/state" "$T/spool" "$T/log" "$T/slurm" "$T/local"
chmod 755 "$T/munge"
chmod 700 "$T/key"

cleanup() {
    set +e
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
        timeout 20 scontrol shutdown >/dev/null 2>&1
        for _ in $(seq 1 40); do
            { [ -f "$T/slurmctld.pid" ] && kill -0 "$(cat "$T/slurmctld.pid")" 2>/dev/null; } ||
                { [ -f "$T/slurmd.pid" ] && kill -0 "$(cat "$T/slurmd.pid")" 2>/dev/null; } || break
            sleep 0.25
        done
        for p in slurmctld slurmd; do
            [ -f "$T/$p.pid" ] && kill "$(cat "$T/$p.pid")" 2>/dev/null
        done
    fi
    [ -f "$T/munged.pid" ] && kill "$(cat "$T/munged.pid")" 2>/dev/null
    if [ "${ok:-0}" = 1 ]; then
        rm -rf "$T"
    else
        echo "slurm test: logs kept in $T/log and $T/slurm/out/logs" >&2
        tail -n 20 "$T"/log/*.log >&2 2>/dev/null
    fi
}
trap cleanup EXIT

# munge: a fresh key and a private socket.
dd if=/dev/urandom of="$T/key/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/key/munge.key"
munged --key-file="$T/key/munge.key" --socket="$T/munge/munge.sock" \
    --pid-file="$T/munged.pid" --log-file="$T/log/munged.log" --seed-file="$T/key/munge.seed"

# Own ports, loopback only.
base=$((20000 + ($$ % 2000) * 2))
host=$(hostname -s)
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=kadanoff-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -c
slurmd -c

echo "slurm test: waiting for the node"
for i in $(seq 1 120); do
    state=$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    [ "$i" = 120 ] && { echo "slurm test: node not idle after 60 s (state: $state)" >&2; exit 1; }
    sleep 0.5
done

wait_for() {
    local job=$1
    for i in $(seq 1 600); do
        [ -z "$(timeout 10 squeue -h -j "$job" -o %i 2>/dev/null)" ] && break
        [ "$i" = 600 ] && { echo "slurm test: job $job still running after 300 s" >&2; exit 1; }
        sleep 0.5
    done
    local states
    states=$(timeout 10 scontrol -o show job "$job" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c)
    if [ "$(echo "$states" | grep -vc 'JobState=COMPLETED')" != 0 ]; then
        echo "slurm test: not every task of job $job completed: $states" >&2
        exit 1
    fi
}
campaign() {
    cat <<TOML
name = "slurm-test"
output = "out"
model = "ising2d"
sizes = [4, 8]
couplings = [0.3, 0.4406868, 0.55]
algorithm = "swendsen-wang"
samples = 400
chains = 2
thermalize = 100
thin = 2
seeds = [1, 2]
analyses = ["stats", "mcrg"]
mcrg = { factor = 2, levels = 1 }

[slurm]
throttle = 4
cpus_per_task = 1
mem = "200M"
time = "00:05:00"
TOML
}
campaign >"$T/slurm/campaign.toml"
campaign >"$T/local/campaign.toml"

"$KADANOFF" campaign plan "$T/slurm/campaign.toml"
job=$(timeout 30 sbatch --parsable "$T/slurm/out/campaign.sbatch")
job=${job%%;*}
echo "slurm test: campaign array job $job submitted"
wait_for "$job"
"$KADANOFF" campaign merge "$T/slurm/campaign.toml" >/dev/null

"$KADANOFF" campaign plan "$T/local/campaign.toml" >/dev/null
"$KADANOFF" campaign run "$T/local/campaign.toml" --jobs 2 >/dev/null
"$KADANOFF" campaign merge "$T/local/campaign.toml" >/dev/null

# One run in three shards of chains, Slurm naming each shard by SLURM_ARRAY_TASK_ID/COUNT, merged:
# the same bytes as the single run here.
run_args=(sample --size 8 --coupling 0.44 --samples 900 --chains 3 --thermalize 100 --thin 2
    --algorithm swendsen-wang --seed 5 --quiet)
mkdir -p "$T/shards/logs"
cat >"$T/shards/shards.sbatch" <<SH
#!/bin/bash
#SBATCH --job-name=kadanoff-shards
#SBATCH --array=0-2
#SBATCH --cpus-per-task=1
#SBATCH --mem=200M
#SBATCH --time=00:05:00
#SBATCH --chdir=$T/shards
#SBATCH --output=logs/%A_%a.out
set -euo pipefail
exec "$KADANOFF" ${run_args[*]} --out run.npy
SH
job=$(timeout 30 sbatch --parsable "$T/shards/shards.sbatch")
job=${job%%;*}
echo "slurm test: shard array job $job submitted"
wait_for "$job"
"$KADANOFF" merge "$T"/shards/run.shard-*-of-3.json --out "$T/shards/merged.npy" >/dev/null
(cd "$T/local" && "$KADANOFF" "${run_args[@]}" --out single.npy >/dev/null)
cmp "$T/shards/merged.npy" "$T/local/single.npy"
rm "$T/local/single.npy" "$T/local/single.json"

# Everything but the task records (they hold wall-clock times), the logs and the script (it holds
# absolute paths) must be identical.
diff -r -q --exclude=record.json --exclude=logs --exclude=campaign.sbatch "$T/slurm/out" "$T/local/out"
n=$(find "$T/slurm/out/tasks" -name record.json | wc -l)
[ "$n" = 12 ] || { echo "slurm test: expected 12 task records, found $n" >&2; exit 1; }
[ -s "$T/slurm/out/summary.json" ] || { echo "slurm test: no summary" >&2; exit 1; }
files=$(find "$T/slurm/out" -type f -not -name record.json -not -path '*/logs/*' -not -name campaign.sbatch | wc -l)
ok=1
echo "slurm test: campaign of $n tasks through sbatch: $files files identical to the local run; 3 shards through sbatch merged into the single run's bytes"
echo "slurm test: 2 passed, 0 failed ($(( $(date +%s) - started )) s)"
