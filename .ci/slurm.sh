#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the tests of the cluster paths (tests/test_distributed.py).
#   .ci/slurm.sh start   install (Debian: slurmctld, slurmd, slurm-client, munge), configure and start it
#   .ci/slurm.sh stop    stop the daemons
# This host is both controller and node; state and spool live under $SLURM_HOME (default /tmp/dealsim-slurm).
# docs/cluster.md gives the same recipe for trying the cluster path on a laptop.
set -euo pipefail
SLURM_HOME="${SLURM_HOME:-/tmp/dealsim-slurm}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

start() {
  if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
  fi
  local host cpus mem
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))   # MB, leaving 1 GB to the system
  $SUDO mkdir -p "$SLURM_HOME"/{state,spool,log} /etc/slurm /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    $SUDO mkdir -p /etc/munge
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  $SUDO chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  $SUDO chmod 0700 /etc/munge /var/log/munge /var/lib/munge
  $SUDO chmod 0400 /etc/munge/munge.key
  $SUDO chmod 0755 /run/munge
  $SUDO tee /etc/slurm/slurm.conf >/dev/null <<EOF
ClusterName=dealsim
SlurmctldHost=${host}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=${SLURM_HOME}/state
SlurmdSpoolDir=${SLURM_HOME}/spool
SlurmctldPidFile=${SLURM_HOME}/slurmctld.pid
SlurmdPidFile=${SLURM_HOME}/slurmd.pid
SlurmctldLogFile=${SLURM_HOME}/log/slurmctld.log
SlurmdLogFile=${SLURM_HOME}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
  pgrep -x munged >/dev/null || $SUDO runuser -u munge -- /usr/sbin/munged 2>/dev/null || $SUDO /usr/sbin/munged --force
  pgrep -x slurmctld >/dev/null || $SUDO slurmctld
  pgrep -x slurmd >/dev/null || $SUDO slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o "%a %t" 2>/dev/null | grep -q "^up idle"; then
      echo "SLURM is up: $(sinfo -h -o '%P %D %t %c')" >&2
      return 0
    fi
    sleep 2
  done
  echo "SLURM did not come up within 2 minutes" >&2
  sinfo || true
  tail -n 30 "$SLURM_HOME"/log/*.log >&2 || true
  return 1
}

stop() {
  for d in slurmd slurmctld munged; do
    $SUDO pkill -x "$d" 2>/dev/null || true
  done
  for _ in $(seq 1 20); do
    pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || pgrep -x munged >/dev/null || return 0
    sleep 0.5
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: .ci/slurm.sh start|stop" >&2; exit 2 ;;
esac
