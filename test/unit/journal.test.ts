import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isJournalStream, withPriority } from '../../lib/journal.ts';
import { createLogger, type TextSink } from '../../lib/log.ts';
import { tempDirs } from '../support/temp-dir.ts';

const tempDir = tempDirs('pgops-journal-');

// A real file standing in for the journal's stream socket, and JOURNAL_STREAM naming it as systemd would.
function fakeJournal() {
  const file = path.join(tempDir(), 'journal');
  const fd = fs.openSync(file, 'w+');
  const st = fs.fstatSync(fd);
  const sink: TextSink = { write: (t: string) => fs.writeSync(fd, t), fd, isTTY: false };
  return { sink, env: { JOURNAL_STREAM: `${st.dev}:${st.ino}` }, text: () => fs.readFileSync(file, 'utf8'), fd };
}

describe('stderr in the journal', () => {
  it('is told by JOURNAL_STREAM naming this very descriptor, not by the variable alone', () => {
    const j = fakeJournal();
    expect(isJournalStream(j.fd, j.env)).toBe(true);
    // inherited by a child whose stderr went elsewhere (a pipe to PostgreSQL's logging collector)
    const other = fakeJournal();
    expect(isJournalStream(other.fd, j.env)).toBe(false);
    expect(isJournalStream(j.fd, {})).toBe(false);
    expect(isJournalStream(j.fd, { JOURNAL_STREAM: 'garbage' })).toBe(false);
    expect(isJournalStream(undefined, j.env)).toBe(false);
  });

  it('gives every log line its syslog priority, the hint too, and human text the journal stamps itself', () => {
    const j = fakeJournal();
    const log = createLogger({ task: 'backup', stream: j.sink, env: j.env, verbose: true });
    log.error('failed', 'cannot connect to db1', { hint: 'check --db' });
    log.warn('slow', 'upload retried\nafter a reset');
    log.info('done', 'backup 20261122T031700Z written');
    log.debug('config', 'config file /etc/pgops/pgops.config.yml');
    expect(j.text()).toBe(
      '<3>ERROR: cannot connect to db1\n<3>HINT: check --db\n<4>WARN: upload retried\n<4>after a reset\n<6>backup 20261122T031700Z written\n<7>config file /etc/pgops/pgops.config.yml\n',
    );
  });

  it('keeps JSON lines when they are asked for, each with its priority', () => {
    const j = fakeJournal();
    createLogger({ task: 'backup', stream: j.sink, env: j.env, format: 'json' }).warn('slow', 'upload retried');
    const line = j.text();
    expect(line.startsWith('<4>{')).toBe(true);
    expect(JSON.parse(line.slice(3))).toMatchObject({ level: 'warn', kind: 'slow', message: 'upload retried' });
  });

  it('writes JSON lines without prefixes when stderr is not the journal', () => {
    const j = fakeJournal();
    createLogger({ task: 'backup', stream: j.sink, env: {} }).warn('slow', 'upload retried');
    expect(JSON.parse(j.text())).toMatchObject({ level: 'warn', message: 'upload retried' });
  });

  it('prefixes each line of a text, leaving empty lines alone', () => {
    expect(withPriority(6, 'a\n\nb\n')).toBe('<6>a\n\n<6>b\n');
  });
});
