import { exitCodeNames, ExitCode } from '../../lib/errors.ts';
import { OPTION_DEFS } from '../../lib/options.ts';
import { TASKS } from '../../lib/tasks/index.ts';

const exitCodeMeaning: Record<number, string> = {
  [ExitCode.OK]: 'ok',
  [ExitCode.WARNING]: 'warning (checks), or the task finished with something to look at (e.g. a role in globals.sql failed)',
  [ExitCode.FAILED]: 'critical, or the task failed (pg_dump failed, storage failed, interrupted by SIGTERM/SIGINT)',
  [ExitCode.UNKNOWN]: 'could not run: cannot connect, bad arguments or configuration, a refusal that needs a flag (--create, --clean, --force), a target that cannot take the database as it was (a role, tablespace or ICU it lacks)',
  [ExitCode.LOCKED]: 'another run of the task holds its advisory lock on this database',
  [ExitCode.NOT_FOUND]: 'the backup asked for does not exist or is incomplete, or restore --table/--schema names nothing in it; wal fetch: the WAL file is not archived (recovery ends there normally)',
  [ExitCode.INTEGRITY]: 'a stored file does not match the sha256 its manifest (wal fetch: its sidecar) lists, or a set asked for by id is damaged (listed files missing); nothing was restored',
  [ExitCode.STOP_RECOVERY]: 'wal fetch failed (2, 3 or 6; 2 also for a segment missing while later ones of its timeline are archived: a gap) while the data directory is in archive recovery (recovery.signal without standby.signal): PostgreSQL stops the recovery instead of taking the file as the end of the archive and promoting',
};

// The README's exit-code table, from lib/errors.ts.
export function exitCodesMarkdown(): string {
  const rows = Object.entries(exitCodeNames).map(([code, name]) => `| ${code} | ${name} | ${exitCodeMeaning[Number(code)]} |`);
  return ['| code | name | meaning |', '|---|---|---|', ...rows].join('\n');
}

// The README's options table, from lib/options.ts.
export function optionsMarkdown(): string {
  const rows = OPTION_DEFS.map((o) => {
    const tasks = o.tasks === '*' ? 'all' : o.tasks.map((t) => t.replace('-', ' ')).join(', ');
    const dflt = o.default === undefined ? '' : `\`${String(o.default)}\``;
    const env = (o.env ?? []).map((e) => `\`${e}\``).join(', ');
    const flag = `\`--${o.flag}${o.type === 'boolean' ? '' : ` ${o.placeholder ?? o.type.toUpperCase()}`}\``;
    return `| ${flag} | ${tasks} | ${env} | ${dflt} | ${o.describe.replace(/\|/g, '\\|')} |`;
  });
  return ['| option | tasks | environment | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

// The README's list of commands, from lib/tasks/index.ts.
export function commandsMarkdown(): string {
  return TASKS.map((t) => [`### \`pgops ${t.command}\``, '', t.describe, '', '```sh', ...t.examples.map(([cmd, what]) => `# ${what}\n${cmd}`), '```'].join('\n')).join('\n\n');
}

// Replaces the text between <!-- NAME:start --> and <!-- NAME:end --> markers.
export function replaceBetween(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`markers ${start} ... ${end} not found`);
  return doc.slice(0, i + start.length) + '\n' + body + '\n' + doc.slice(j);
}

// The README with every generated section brought up to date.
export function renderReadme(doc: string): string {
  let out = replaceBetween(doc, 'commands', commandsMarkdown());
  out = replaceBetween(out, 'options', optionsMarkdown());
  return replaceBetween(out, 'exit-codes', exitCodesMarkdown());
}
