#!/bin/bash
# Runs inside the Debian VM, started by its init (build-image.sh writes it)
# with the project at /xdpvs (read-only) and the host's job directory at
# /out. Sets up what the namespace lab needs, loads IPVS, then runs the job
# in /out/job (one per line: a name and its arguments):
#   bench ARGS...   the benchmark harness (e.g. --on host,nics: the veth
#                   lab and the VM's virtio-net NICs); the reports go to
#                   /out/report.json
#   test PATHS...   node's test runner over built tests (e.g. dist/test/packet/)
# The job's exit status goes to /out/status; the console is the VM's serial.
set -u
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
ip link set lo up
hostname xdpvs-debian-vm
for m in ip_vs ip_vs_mh ipip veth bridge; do
  modprobe "$m" || echo "guest: modprobe $m failed"
done
echo "guest: kernel $(uname -r), $(nproc) CPUs, node $(node --version)"
cd /xdpvs
# the serial console is a terminal: keep escape codes out of what the host parses
export NO_COLOR=1
status=/out/status.tmp
: >"$status"
# one boot can run several jobs, one per line; each job's exit status is a
# line of /out/status, written when all have run
while read -r job args; do
  read -r -a argv <<<"$args"
  echo "guest: job $job $args"
  started=$SECONDS
  case "$job" in
    bench) node dist/bench/run.js --json /out/report.json "${argv[@]}" </dev/null ;;
    # the packet fuzzer checks the programs on this kernel too, with fewer
    # frames: under software emulation a million would outlast the boot
    test) FUZZ_N="${FUZZ_N:-20000}" taskset -c 0 node --test --test-reporter=spec --test-concurrency=1 "${argv[@]}" </dev/null ;;
    *) echo "guest: unknown job '$job'"; false ;;
  esac
  rc=$?
  echo "guest: job $job took $((SECONDS - started)) s"
  echo $rc >>"$status"
done </out/job
mv "$status" /out/status
