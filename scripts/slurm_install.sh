#!/usr/bin/env bash
# Install Debian's Slurm (slurmctld, slurmd, client commands) and munge when missing and we can (root + apt),
# for the `slurm` tests; print how long it took. Without them those tests skip.
set -euo pipefail
if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: Slurm is not installed and cannot be here (needs root + apt): the slurm tests will skip" >&2
  exit 0
fi
start=$(date +%s)
echo "installing Debian slurm-wlm + munge for the slurm tests..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
echo "installed slurm-wlm + munge in $(( $(date +%s) - start ))s"
