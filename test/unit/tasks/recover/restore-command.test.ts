import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pgopsBin, restoreCommandFor } from '../../../../lib/tasks/recover/restore-command.ts';

describe('restore_command', () => {
  it('runs this pgops with absolute paths, the repository and the system', () => {
    expect(fs.existsSync(pgopsBin())).toBe(true);
    expect(restoreCommandFor('file:///var/backups/pgops', '7300000000000000000', {})).toBe(`${process.execPath} ${pgopsBin()} wal fetch %f %p --repo file:///var/backups/pgops --system-id 7300000000000000000`);
  });

  it('passes the S3 options that are not defaults, never a secret, and quotes for the shell', () => {
    const cmd = restoreCommandFor("s3://backups/it's", '7300000000000000000', { s3Endpoint: 'http://key:secret@127.0.0.1:9000', s3Region: 'eu-west-1', s3PathStyle: true, s3Checksum: 'when-required' });
    expect(cmd).toMatch(/wal fetch %f %p --repo 's3:\/\/backups\/it'\\''s' --system-id 7300000000000000000 --s3-endpoint http:\/\/127\.0\.0\.1:9000 --s3-region eu-west-1 --s3-path-style --s3-checksum when-required$/);
    expect(cmd).not.toContain('secret');
    const defaults = restoreCommandFor('s3://backups/pgops', '1', { s3Region: 'us-east-1', s3PathStyle: false, s3Checksum: 'when-supported' });
    expect(defaults).toMatch(/--system-id 1$/);
  });
});
