import { describe, expect, it } from 'vitest';
import { commandWordsOf, errorEnvelope, JSON_ENVELOPE_VERSION, resultEnvelope } from '../../../lib/cli/json-envelope.ts';
import { TASK_NAMES } from '../../../lib/options.ts';
import { TASKS } from '../../../lib/tasks/index.ts';

describe('the --json envelope', () => {
  it('is version 1', () => {
    expect(JSON_ENVELOPE_VERSION).toBe(1);
  });

  it('names every task by the words the registry gives its command', () => {
    expect(TASKS.map((t) => t.name).sort()).toEqual([...TASK_NAMES].sort());
    for (const t of TASKS) expect(commandWordsOf(t.name), t.name).toBe(t.command);
    expect(commandWordsOf('backups-list')).toBe('backups list');
    expect(commandWordsOf('idle-cleanup')).toBe('idle-cleanup');
  });

  it('holds a result with its data and no error, ok only for exit 0', () => {
    expect(resultEnvelope('backups-list', 0, { sets: [] })).toEqual({ version: 1, task: 'backups list', ok: true, exitCode: 0, data: { sets: [] }, error: null, hint: null });
    // a critical check, a failed drill: not ok, and the data is there
    expect(resultEnvelope('wal-check', 2, { status: 'CRITICAL' })).toEqual({ version: 1, task: 'wal check', ok: false, exitCode: 2, data: { status: 'CRITICAL' }, error: null, hint: null });
    // a handler that returned no data still prints data: null, never a missing key
    expect(resultEnvelope('analyze', 0, undefined)).toMatchObject({ ok: true, data: null });
  });

  it('holds an error with its message and hint and no data', () => {
    expect(errorEnvelope('restore', 5, 'no backup set of database "app"', 'see pgops backups list')).toEqual({ version: 1, task: 'restore', ok: false, exitCode: 5, data: null, error: 'no backup set of database "app"', hint: 'see pgops backups list' });
    expect(errorEnvelope('drill', 3, 'cannot connect', undefined).hint).toBeNull();
  });

  it('has the same keys in the same order whatever happened, so that a diff of two reports lines up', () => {
    expect(Object.keys(resultEnvelope('backup', 0, {}))).toEqual(Object.keys(errorEnvelope('backup', 2, 'x', 'y')));
  });
});
