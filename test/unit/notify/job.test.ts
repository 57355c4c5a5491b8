import { describe, expect, it } from 'vitest';
import { jobOf } from '../../../lib/notify/job.ts';

describe('the job a run is known by', () => {
  it('is the task, and drill-pitr for drill --pitr, which runs on its own schedule', () => {
    expect(jobOf('backup', {})).toBe('backup');
    expect(jobOf('drill', { pitr: false })).toBe('drill');
    expect(jobOf('drill', { pitr: true })).toBe('drill-pitr');
  });
});
