#!/usr/bin/env bash
# A single-node Slurm on this machine (Debian's slurm-wlm + munge), for the `slurm` tests and for trying
# an exported study by hand. Needs root (slurmd runs jobs as their user). No cgroups, no accounting
# database: proctrack/linuxproc, task/none, accounting_storage/none; finished jobs stay visible to
# `squeue -t all` / `scontrol show job` for an hour (MinJobAge).
#
#   bash scripts/slurm_local.sh [start]    # start munge, slurmctld, slurmd when not running (idempotent)
#   bash scripts/slurm_local.sh stop       # stop slurmd, slurmctld (munge stays: other tools may use it)
#   bash scripts/slurm_local.sh status
#   eval "$(bash scripts/slurm_local.sh env)"   # SLURM_CONF for sbatch/squeue in this shell
#
# Partitions: `cpu` (default; no GPUs) and `api` (stands in for the nodes that can reach the internet),
# both on the one node `localhost` with this machine's CPU count and memory.
# State, logs and the generated slurm.conf live in $NATIVEVAL_SLURM_DIR (default /tmp/nativeval-slurm).
set -euo pipefail

STATE=${NATIVEVAL_SLURM_DIR:-/tmp/nativeval-slurm}
CONF=$STATE/slurm.conf
export SLURM_CONF=$CONF

die() { echo "slurm_local.sh: $*" >&2; exit 2; }

need_tools() {
  for tool in munged slurmctld slurmd sbatch sinfo; do
    command -v "$tool" >/dev/null 2>&1 \
      || die "$tool not found: install Debian's Slurm (apt-get install -y slurm-wlm munge)"
  done
  [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their owner); run it with sudo"
}

munge_up() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_up && return 0
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; }
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge_up && return 0; sleep 0.1; done
  die "munged did not start (see /var/log/munge/munged.log)"
}

write_conf() {
  mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/log"
  local cpus mem_mb
  cpus=$(nproc)
  mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  cat >"$CONF.tmp" <<EOF
# Written by scripts/slurm_local.sh: a single-node cluster without cgroups or an accounting database.
ClusterName=nativeval
SlurmctldHost=localhost
SlurmctldAddr=127.0.0.1
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=${NATIVEVAL_SLURMCTLD_PORT:-6817}
SlurmdPort=${NATIVEVAL_SLURMD_PORT:-6818}
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=10
SchedulerParameters=defer_batch
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=api Nodes=localhost MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_idle() {
  for _ in $(seq 300); do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null | head -1 || true)
    case "$state" in idle*|mixed*|allocated*) return 0 ;; esac
    sleep 0.2
  done
  die "the node did not come up (state '${state:-none}'; logs in $STATE/log)"
}

start() {
  need_tools
  start_munge
  if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid"; then
    wait_idle
    echo "slurm_local.sh: already running (SLURM_CONF=$CONF)"
    return 0
  fi
  stop_daemons
  write_conf
  slurmctld -c -i
  slurmd -N localhost
  wait_idle
  scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
  echo "slurm_local.sh: slurmctld + slurmd up, partitions cpu (default) and api (SLURM_CONF=$CONF)"
}

stop_daemons() {
  for daemon in slurmd slurmctld; do
    if alive "$STATE/$daemon.pid"; then
      pid=$(cat "$STATE/$daemon.pid")
      kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$STATE/$daemon.pid"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop_daemons; echo "slurm_local.sh: stopped" ;;
  status)
    if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid"; then sinfo; else echo "not running"; exit 1; fi ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) die "unknown command ${1} (start | stop | status | env)" ;;
esac
