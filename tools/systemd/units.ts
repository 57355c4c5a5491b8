// systemd service and timer units for the jobs the GitHub workflows schedule, the same commands on the same
// schedule (read from .github/workflows/), for hosts that run pgops themselves. `npm run docs` writes them into
// deploy/systemd/; test/unit/tools/systemd/units.test.ts checks they are current and that systemd-analyze verify
// accepts them.
import fs from 'node:fs';
import { parse } from 'yaml';
import { wrap } from '../../lib/cli/help.ts';
import { RUNBOOK_PAGES, type RunbookPage } from '../../lib/check/runbook-pages.ts';
import { OPTION_DEFS, type TaskName } from '../../lib/options.ts';
import { TASKS } from '../../lib/tasks/index.ts';

export const UNIT_DIR = 'deploy/systemd';
// where `npm install -g` puts the bin with a distribution's node (prefix /usr/local); the README says how to change it
export const PGOPS_BIN = '/usr/local/bin/pgops';

export interface Job {
  /** the unit's name: pgops-<name>@.service */
  name: string;
  /** what it does, for Description= */
  what: string;
  workflow: string;
  /** pgops command lines, run in order; the next only when the one before succeeded */
  commands: { task: TaskName; args: string }[];
  /** the workflow's timeout-minutes, as TimeoutStartSec= */
  timeout: string;
  /** spreads a fleet's runs (one instance per target) so they do not all start at once */
  delay: string;
  /** exit 1 ("something to look at", not a failure) lets the unit succeed, as the workflow's `|| [ $? -eq 1 ]` does */
  warningIsSuccess?: boolean;
  /** why, for the unit's header */
  note?: string;
  /** the runbook page a failed run leads to (a check's own output names the page of what it found) */
  runbook: RunbookPage;
}

export const JOBS: readonly Job[] = [
  { name: 'backup', what: 'logical backup (pg_dump into the repository)', workflow: 'backup.yml', commands: [{ task: 'backup', args: '' }], timeout: '4h', delay: '15min', runbook: 'runbooks/backup-failed.md', note: 'pgops-prune@.timer prunes after it (the workflow prunes in the same job)' },
  { name: 'prune', what: 'prune backup sets, base backups and WAL by the retention rules', workflow: 'backup.yml', commands: [{ task: 'prune', args: '--execute' }], timeout: '1h', delay: '15min', runbook: 'runbooks/backup.md#6-prune-old-sets', note: 'runs 90 minutes after the backup timer; prune never deletes a set a running backup writes, so an overlap is safe' },
  { name: 'basebackup', what: 'base backup (pg_basebackup into the repository)', workflow: 'basebackup.yml', commands: [{ task: 'basebackup', args: '' }], timeout: '6h', delay: '10min', runbook: 'runbooks/basebackup.md' },
  { name: 'drill', what: 'restore drill of the newest backup set', workflow: 'drill.yml', commands: [{ task: 'drill', args: '--max-rpo 26h' }], timeout: '6h', delay: '10min', runbook: 'runbooks/drill-failed.md' },
  { name: 'pitr-drill', what: 'point-in-time recovery drill on a throwaway server', workflow: 'pitr-drill.yml', commands: [{ task: 'drill', args: '--pitr --amcheck --max-rto 4h --max-rpo 1h' }], timeout: '6h', delay: '10min', runbook: 'runbooks/pitr-drill-failed.md', note: 'needs the PostgreSQL server programs of the cluster\'s major version (pg_ctl, postgres) and disk for the whole cluster under PGOPS_TMP_DIR' },
  { name: 'verify', what: 'verify every stored file against its manifest or sidecar', workflow: 'verify.yml', commands: [{ task: 'verify', args: '' }], timeout: '6h', delay: '10min', runbook: 'runbooks/verify.md' },
  { name: 'wal-check', what: 'WAL archiving check', workflow: 'wal-check.yml', commands: [{ task: 'wal-check', args: '' }], timeout: '10min', delay: '1min', runbook: 'runbooks/wal-archiving-failing.md' },
  { name: 'maintenance', what: 'analyze, then reindex bloated indexes', workflow: 'maintenance.yml', commands: [{ task: 'analyze', args: '--execute' }, { task: 'reindex', args: '--execute' }], timeout: '4h', delay: '10min', warningIsSuccess: true, runbook: 'runbooks/index-bloat.md' },
  { name: 'idle-cleanup', what: 'terminate idle connections', workflow: 'idle-cleanup.yml', commands: [{ task: 'idle-cleanup', args: '--execute' }], timeout: '10min', delay: '2min', warningIsSuccess: true, runbook: 'runbooks/idle-cleanup.md' },
  { name: 'partitions', what: 'create the partitions ahead, then check them', workflow: 'partitions.yml', commands: [{ task: 'partitions-create', args: '--execute' }, { task: 'partitions-check', args: '' }], timeout: '30min', delay: '5min', warningIsSuccess: true, runbook: 'runbooks/partition-missing.md' },
  { name: 'status', what: "status of backups and drills (dead man's switch)", workflow: 'status.yml', commands: [{ task: 'status', args: '' }], timeout: '10min', delay: '5min', runbook: 'runbooks/README.md#on-call-start-here' },
];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

// A workflow's cron line (minute hour * * weekday, lists and * only, in UTC as GitHub runs them) as OnCalendar=.
export function onCalendarOf(cron: string): string {
  const [minute, hour, dom, month, dow] = cron.trim().split(/\s+/);
  if (dom !== '*' || month !== '*' || !/^[\d,*]+$/.test(`${minute}${hour}${dow}`)) throw new Error(`cron "${cron}" is beyond what onCalendarOf converts`);
  const two = (field: string) => (field === '*' ? '*' : field.split(',').map((n) => n.padStart(2, '0')).join(','));
  const days = dow === '*' ? '' : `${dow.split(',').map((d) => DAYS[Number(d) % 7]).join(',')} `;
  return `${days}*-*-* ${two(hour)}:${two(minute)}:00 UTC`;
}

// The workflow's schedule (its first cron line).
export function cronOf(workflow: string, root: string): string {
  const doc = parse(fs.readFileSync(`${root}/.github/workflows/${workflow}`, 'utf8')) as { on: { schedule: { cron: string }[] } };
  return doc.on.schedule[0].cron;
}

// prune runs 90 minutes after the backup: the workflow prunes when the backup is done
function scheduleOf(job: Job, root: string): string {
  const cron = cronOf(job.workflow, root);
  if (job.name !== 'prune') return onCalendarOf(cron);
  const [minute, hour, ...rest] = cron.split(/\s+/);
  const at = Number(hour) * 60 + Number(minute) + 90;
  return onCalendarOf([String(at % 60), String(Math.floor(at / 60) % 24), ...rest].join(' '));
}

const commandOf = (task: TaskName) => TASKS.find((t) => t.name === task)!.command;

// A job that runs a check (lib/check/runbook-pages.ts): its output names the runbook page of its worst finding.
const isCheck = (job: Job) => job.commands.some((c) => c.task in RUNBOOK_PAGES);

const HARDENING = `# Hardening (systemd-analyze security pgops-<job>@<target>.service scores it). Not set on purpose:
# MemoryDenyWriteExecute, since V8's JIT compiler (and PostgreSQL's, in a PITR drill's server) writes code it runs.
NoNewPrivileges=yes
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
# a refused system call fails with EPERM instead of killing the process: node and libuv fall back (io_uring)
SystemCallErrorNumber=EPERM
UMask=0077
# The only places written outside PrivateTmp: the state folder (StateDirectory), node_exporter's textfile folder
# (Debian's; a missing one is skipped). A file:// repository, PGOPS_TMP_DIR or another --metrics-dir needs its own
# line: systemctl edit pgops-<job>@.service, then [Service] ReadWritePaths=/srv/pgops-repo
ReadWritePaths=-/var/lib/prometheus/node-exporter`;

// The .service of a job: one instance per config target (pgops-backup@main.service runs --target main).
export function serviceOf(job: Job): string {
  const lines = job.commands.map((c) => `ExecStart=${PGOPS_BIN} ${commandOf(c.task)}${c.args ? ` ${c.args}` : ''}`);
  return `# pgops ${job.name}: ${job.what}, as .github/workflows/${job.workflow} runs it.
# Generated by npm run docs (tools/systemd/units.ts): change it there, or override with systemctl edit.
# One instance per config target: systemctl enable --now pgops-${job.name}@main.timer runs --target main.${job.note ? `\n# ${job.note}.` : ''}
# A failed run leads to ${job.runbook}.${isCheck(job) ? `\n# The check's output names the page for what it found, after its status line: runbook: runbooks/<page>.md` : ''}
[Unit]
Description=pgops ${job.name} of target %i: ${job.what}
Wants=network-online.target
After=network-online.target postgresql.service

[Service]
Type=oneshot
User=postgres
Group=postgres
Environment=PGOPS_TARGET=%i
Environment=PGOPS_STATE_DIR=%S/pgops
# settings of every job (credentials, notifications), then of this job; a later one wins (PGOPS_TARGET= runs
# without a config target: db and repo from the environment)
EnvironmentFile=-/etc/pgops/pgops.env
EnvironmentFile=-/etc/pgops/${job.name}.env
${lines.join('\n')}
${job.warningIsSuccess ? '# exit 1 is "something to look at" (a cap reached, a table skipped), not a failure, as in the workflow\nSuccessExitStatus=1\n' : ''}# the workflow's timeout; then SIGTERM, which pgops answers by stopping and cleaning up (its children first: KillMode=mixed)
TimeoutStartSec=${job.timeout}
KillMode=mixed
StateDirectory=pgops
StateDirectoryMode=0700

${HARDENING}
`;
}

// The .timer of a job: the workflow's schedule, caught up after downtime, spread a little.
export function timerOf(job: Job, root: string): string {
  const whose = job.name === 'prune' ? `90 minutes after the backup's in .github/workflows/${job.workflow}` : `the schedule of .github/workflows/${job.workflow}`;
  return `# pgops ${job.name}: ${whose}, in UTC as GitHub runs it.
# Generated by npm run docs (tools/systemd/units.ts).
[Unit]
Description=pgops ${job.name} of target %i on schedule

[Timer]
OnCalendar=${scheduleOf(job, root)}
# a run missed while the host was down starts at boot
Persistent=true
RandomizedDelaySec=${job.delay}

[Install]
WantedBy=timers.target
`;
}

const common = new Set(['db', 'repo', 'target', 'config', 'pg-bin', 'tmp-dir']);

// A job's example environment file: its tasks' own options, commented out, with their defaults.
export function envExampleOf(job: Job): string {
  const tasks = job.commands.map((c) => c.task);
  const defs = OPTION_DEFS.filter((d) => d.tasks !== '*' && d.env?.length && !d.flag.startsWith('s3-') && !common.has(d.flag) && tasks.some((t) => (d.tasks as readonly string[]).includes(t)));
  const entries = defs.map((d) => `${wrap(d.describe, 114).map((l) => `# ${l}`).join('\n')}\n#${d.env![0]}=${d.default ?? ''}`);
  return `# /etc/pgops/${job.name}.env: settings of pgops-${job.name}@.service only (root:root, mode 0600: systemd reads it
# before it drops to User=postgres). /etc/pgops/pgops.env holds what every job shares; pgops.config.yml the targets.
# Generated by npm run docs (tools/systemd/units.ts) from the option table.

# this job's healthchecks-style ping URL (each job its own check)
#PGOPS_PING_URL=https://hc-ping.com/<uuid>

${entries.join('\n\n')}
`;
}

// What every job shares.
export const SHARED_ENV = `# /etc/pgops/pgops.env: settings every pgops job reads (root:root, mode 0600: systemd reads it before it drops to
# User=postgres). Each job then reads /etc/pgops/<job>.env; a later setting wins. Targets (db, repo, retention) belong
# in /etc/pgops/pgops.config.yml, which every job and archive_command find there.
# Generated by npm run docs (tools/systemd/units.ts).

# Run without a config target: clear PGOPS_TARGET (the unit sets it to the instance name) and name db and repo here.
#PGOPS_TARGET=
#PGOPS_DB=postgresql://backup@db1.internal:5432/app
#PGOPS_REPO=s3://backups/pgops

# Passwords: better in ~postgres/.pgpass (mode 0600) than here.
#PGPASSWORD=

# S3 credentials and region, as the AWS SDK reads them (an instance role needs none of these)
#AWS_REGION=eu-central-1
#AWS_ACCESS_KEY_ID=
#AWS_SECRET_ACCESS_KEY=
#AWS_ENDPOINT_URL_S3=https://minio.internal:9000

# Notifications and metrics
#PGOPS_WEBHOOK_URL=https://hooks.slack.com/services/...
#PGOPS_PUSHGATEWAY_URL=http://pushgateway.internal:9091
#PGOPS_METRICS_DIR=/var/lib/prometheus/node-exporter

# Logs: leave PGOPS_LOG_FORMAT unset: in the journal pgops writes plain lines with their priority
# (journalctl -u 'pgops-*' -p warning shows the warnings and errors).
#PGOPS_LOG_FORMAT=json

# PostgreSQL programs of the server's major version, when several are installed
#PGOPS_PG_BIN=/usr/lib/postgresql/16/bin
`;

// Every file of deploy/systemd/, by name.
export function renderUnits(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const job of JOBS) {
    files.set(`pgops-${job.name}@.service`, serviceOf(job));
    files.set(`pgops-${job.name}@.timer`, timerOf(job, root));
    files.set(`${job.name}.env.example`, envExampleOf(job));
  }
  files.set('pgops.env.example', SHARED_ENV);
  return files;
}

// Writes deploy/systemd/ and removes files no job makes any more; says whether anything changed.
export function writeUnits(root: string): boolean {
  const dir = `${root}/${UNIT_DIR}`;
  fs.mkdirSync(dir, { recursive: true });
  const files = renderUnits(root);
  let changed = false;
  for (const name of fs.readdirSync(dir)) {
    if (!files.has(name)) {
      fs.rmSync(`${dir}/${name}`);
      changed = true;
    }
  }
  for (const [name, text] of files) {
    const path = `${dir}/${name}`;
    if (fs.existsSync(path) && fs.readFileSync(path, 'utf8') === text) continue;
    fs.writeFileSync(path, text);
    changed = true;
  }
  return changed;
}
