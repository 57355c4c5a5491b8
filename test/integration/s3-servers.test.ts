import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRgwServer } from '../support/rgw.ts';
import { measureCapabilities } from '../support/s3-capabilities.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';

// The test harness's S3 servers: each one's capabilities are what the server really does (tests gate on them),
// and radosgw leaves nothing behind.
describe.each(S3_SERVERS)('the $name test server', ({ start }) => {
  let server: S3Server;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server?.stop());

  it('has the capabilities it declares, as measured against it', async () => {
    expect(await measureCapabilities(server)).toEqual(server.capabilities);
  });
});

// The pids of running processes whose command line mentions text.
function processesMentioning(text: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text) && !fs.readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ');
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('the rgw test server', () => {
  it('stops every daemon it started and removes its folder', async () => {
    const server = await startRgwServer('stop-test');
    const daemons = processesMentioning(`${server.dir}/ceph.conf`);
    expect(daemons).toHaveLength(3);
    await server.stop();
    expect(processesMentioning(`${server.dir}/ceph.conf`)).toEqual([]);
    expect(fs.existsSync(server.dir)).toBe(false);
    // and its ports are free for the next one
    await expect(fetch(server.endpoint)).rejects.toThrow();
  });
});
