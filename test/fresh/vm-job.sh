#!/bin/bash
# Runs inside the fresh VM (Debian 12, its kernel, systemd as PID 1), as
# xdpvs-fresh-job.service, with the xdpvs package installed from the .deb
# and nothing else of the project but this job's files in /root. The
# director is this VM's own network namespace, run by xdpvs.service as a
# user would run it; a client and a real server live in namespaces on one
# bridge. Each step leaves its output in /out (the host's job directory,
# over 9p) for the test to assert; /out/status is the job's exit status.
set -u
modprobe 9pnet_virtio && modprobe 9p && mkdir -p /out &&
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 out /out || { echo "job: no /out share"; systemctl poweroff; exit 1; }
log() { echo "fresh-vm: $*"; }
out() { cat >"/out/$1"; }
vip=198.18.1.100
finish() {
  echo "$1" >/out/status
  sync
  systemctl poweroff
  exit "$1"
}
for m in veth bridge; do modprobe "$m"; done

log "kernel $(uname -r), node $(node --version), xdpvs $(xdpvs --version)"
{ dpkg-query -W -f='${Version}' xdpvs; } | out version-before
node --version | out node-version
log "verifying the unit"
systemd-analyze verify xdpvs.service >/out/verify.txt 2>&1
echo $? >/out/verify.status

# --- the lab: client and real on a bridge in the "lan" namespace; the
# director (this namespace) is on it through lan0
ip netns add lan && ip -n lan link add br0 type bridge && ip -n lan link set br0 up
ip netns add cl && ip netns add r1
ip link add lan0 type veth peer name lan0b
ip link set lan0b netns lan && ip -n lan link set lan0b master br0 && ip -n lan link set lan0b up
ip addr add 198.18.0.1/24 dev lan0 && ip link set lan0 up
# veth delivers XDP_TX frames to the peer only when the peer runs XDP too
ip -n lan link set dev lan0b xdpdrv obj /root/pass.bpf.o sec xdp || finish 10
for h in cl:198.18.0.2 r1:198.18.0.11; do
  ns=${h%%:*} addr=${h#*:}
  ip link add "${ns}0" type veth peer name "${ns}b"
  ip link set "${ns}b" netns lan && ip -n lan link set "${ns}b" master br0 && ip -n lan link set "${ns}b" up
  ip link set "${ns}0" netns "$ns" && ip -n "$ns" addr add "$addr/24" dev "${ns}0"
  ip -n "$ns" link set "${ns}0" up && ip -n "$ns" link set lo up
done
# a frame XDP forwards loses veth's "checksum pending" mark: the client sums its own
ip netns exec cl ethtool -K cl0 tx off >/dev/null
ip -n cl route add "$vip/32" via 198.18.0.1
ip -n r1 addr add "$vip/32" dev lo
ip netns exec r1 sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
rm -f /tmp/stop
ip netns exec r1 node /root/vm-real.js r1 /tmp/stop &

log "lab ready"
# --- the director, configured as the README says
cat >/etc/xdpvs/xdpvs.yaml <<YAML
router_id: fresh
services:
  - vip: $vip
    port: 80
    protocol: tcp
    lb_algo: mh
    lb_kind: dr
    delay_loop: 1
    reals:
      - address: 198.18.0.11
        checks:
          - { type: tcp, connect_port: 80, connect_timeout: 1 }
YAML
sed -i 's/^XDPVS_INTERFACES=.*/XDPVS_INTERFACES="lan0"/' /etc/default/xdpvs
systemctl enable --now xdpvs.service 2>&1 | out enable.txt
log "xdpvs.service started"
ready() {
  # the real is up in the agent's own table
  local i
  for i in $(seq 1 120); do
    xdpvs list --json 2>/dev/null | grep -q '"up": true' && return 0
    sleep 0.5
  done
  return 1
}
ready || { journalctl -u xdpvs --no-pager | tail -30; finish 11; }
log "serving"
systemctl show xdpvs.service -p MainPID -p ActiveState -p CapabilityBoundingSet -p NoNewPrivileges -p ProtectSystem | out unit-before
ip netns exec cl node /root/vm-client.js count "$vip" 20 | out count.json
xdpvs stats --json | out stats.json

# --- upgrade under traffic: the postinst restarts the agent hitlessly
ip netns exec cl node /root/vm-client.js during "$vip" /tmp/stop >/out/during.json &
client=$!
sleep 3
log "upgrading"
apt-get install -y /root/xdpvs-upgrade.deb >/out/upgrade.txt 2>&1
echo $? >/out/upgrade.status
ready && log "upgraded and serving" || log "agent not ready after the upgrade"
sleep 3
touch /tmp/stop
wait "$client"
dpkg-query -W -f='${Version}' xdpvs | out version-after
systemctl show xdpvs.service -p MainPID -p ActiveState | out unit-after
node -e 'require("http").get("http://127.0.0.1:9641/metrics", (r) => r.pipe(process.stdout))' | grep '^xdpvs_info' | out info-after
journalctl -u xdpvs --no-pager -o cat | out journal.txt

# --- removal takes the program and the pins off; purge takes the configuration
log "removing"
apt-get remove -y xdpvs >/out/remove.txt 2>&1
echo $? >/out/remove.status
{
  echo "active=$(systemctl is-active xdpvs.service)"
  echo "xdp=$(ip -d link show lan0 | grep -c 'prog/xdp')"
  echo "pins=$([ -e /sys/fs/bpf/xdpvs ] && echo present || echo absent)"
  echo "config=$([ -e /etc/xdpvs/xdpvs.yaml ] && echo present || echo absent)"
} | out after-remove.txt
log "purging"
dpkg --purge xdpvs >/out/purge.txt 2>&1
echo $? >/out/purge.status
{
  echo "config=$([ -e /etc/xdpvs ] && echo present || echo absent)"
  echo "default=$([ -e /etc/default/xdpvs ] && echo present || echo absent)"
} | out after-purge.txt
finish 0
