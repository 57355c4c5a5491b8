import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// A block of consecutive TCP ports on 127.0.0.1 for one throwaway Ceph cluster, held until release().
export interface PortBlock {
  /** radosgw's HTTP port */
  rgw: number;
  /** the monitor's msgr2 port */
  mon: number;
  /** ms_bind_port_min..max: where the OSD binds its messengers (public, cluster, two heartbeat) */
  osdMin: number;
  osdMax: number;
  release(): void;
}

// The OSD binds four messengers and takes the first free ports of its range: 12 leave room for a port
// that another program holds.
const SIZE = 14;
// Below the kernel's ephemeral range (32768-60999 by default): ports there are handed out to outgoing
// connections and to bind(0) (freePort, PostgreSQL's and s3rver's ports), so a block there could be taken by
// anyone between our check and the daemon's bind. Below it, only an explicit bind takes a port.
const LOWEST = 20_000;
// Blocks are claimed with a lock file each, so two test files starting a cluster at once never share one.
const LOCKS = path.join(os.tmpdir(), 'pgops-rgw-ports');

// Claims a free block of ports: a random one below the ephemeral range, locked against other test processes
// and checked free by binding each port.
export async function reservePortBlock(): Promise<PortBlock> {
  const ephemeralStart = ephemeralRangeStart();
  const blocks = Math.floor((ephemeralStart - LOWEST) / SIZE);
  if (blocks < 1) throw new Error(`no room for test ports below the ephemeral range (net.ipv4.ip_local_port_range starts at ${ephemeralStart})`);
  fs.mkdirSync(LOCKS, { recursive: true, mode: 0o777 });
  const first = Math.floor(Math.random() * blocks);
  for (let i = 0; i < Math.min(blocks, 200); i++) {
    const base = LOWEST + ((first + i) % blocks) * SIZE;
    const lock = claim(base);
    if (!lock) continue;
    if (await allFree(base, SIZE)) {
      held.add(lock);
      const release = () => {
        fs.rmSync(lock, { force: true });
        held.delete(lock);
      };
      return { rgw: base, mon: base + 1, osdMin: base + 2, osdMax: base + SIZE - 1, release };
    }
    fs.rmSync(lock, { force: true });
  }
  throw new Error(`no free block of ${SIZE} ports between ${LOWEST} and ${ephemeralStart} (locks in ${LOCKS})`);
}

// The first port of the kernel's ephemeral range.
function ephemeralRangeStart(): number {
  try {
    const [lo] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo)) return lo;
  } catch {
    // not Linux: IANA's dynamic range
  }
  return 49_152;
}

// Creates the block's lock file (holding our pid); takes over a lock whose process is gone; undefined if taken.
function claim(base: number): string | undefined {
  const lock = path.join(LOCKS, String(base));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (isAlive(Number(fs.readFileSync(lock, 'utf8')))) return undefined;
      // left behind by a test process that was killed
      fs.rmSync(lock, { force: true });
    }
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function allFree(base: number, size: number): Promise<boolean> {
  for (let port = base; port < base + size; port++) if (!(await canBind(port))) return false;
  return true;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

// Locks of blocks not released when this process exits: removed on the way out (another process would take
// them over anyway once our pid is gone, but a pid can be reused).
const held = new Set<string>();
process.once('exit', () => {
  for (const lock of held) fs.rmSync(lock, { force: true });
});
