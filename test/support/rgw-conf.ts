import type { PortBlock } from './rgw-ports.ts';

// What a throwaway single-node Ceph cluster for radosgw needs to know: its folder, identity and ports.
export interface CephConfInput {
  dir: string;
  fsid: string;
  ports: PortBlock;
  /** memstore's capacity in bytes (it keeps objects in RAM and allocates as they are written) */
  storeBytes: number;
}

// The ceph.conf of a one-monitor, one-OSD (memstore, pool size 1) cluster without cephx and without a
// manager, everything under dir. `$name` is Ceph's own metavariable (mon.a, osd.0, client.rgw).
export function cephConf(c: CephConfInput): string {
  const { dir, ports } = c;
  return `[global]
fsid = ${c.fsid}
mon_host = [v2:127.0.0.1:${ports.mon}]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_port_min = ${ports.osdMin}
ms_bind_port_max = ${ports.osdMax}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# without cephx a client asks for an encrypted monitor session that nothing grants: radosgw then hangs
# for 300 s before it gives up; crc is what a cephx-less cluster can offer
ms_mon_client_mode = crc
ms_client_mode = crc
ms_mon_service_mode = crc
ms_service_mode = crc
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
log_file = ${dir}/log/$name.log
mon_cluster_log_file = ${dir}/log/cluster.log
crash_dir = ${dir}/crash
keyring = ${dir}/keyring
mon_data = ${dir}/$name
osd_data = ${dir}/$name
osd_objectstore = memstore
memstore_device_bytes = ${c.storeBytes}
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
# the folder is in /tmp, which may be fuller than a monitor likes
mon_data_avail_warn = 1
mon_data_avail_crit = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
# the monitor batches map changes for 1 s by default: with radosgw creating its seven pools, a start took 15 s
paxos_propose_interval = 0.02
paxos_min_wait = 0.01
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:${ports.rgw}
rgw_data = ${dir}/rgw
rgw_thread_pool_size = 32
rgw_enable_usage_log = false
`;
}
