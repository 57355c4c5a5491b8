import { usageError } from '../../errors.ts';
import { formatLsn, parseLsn } from '../../wal/names.ts';

// What recovery replays up to: the end of the archive (latest), the base backup alone (immediate), or one of
// PostgreSQL's four recovery targets. Exactly one is given; latest when none is.
export type RecoveryTarget =
  | { kind: 'latest' }
  | { kind: 'immediate' }
  | { kind: 'time'; time: Date; text: string; /** the text had no zone: UTC was assumed, and "+00" appended */ assumedUtc?: boolean }
  | { kind: 'lsn'; lsn: string }
  | { kind: 'xid'; xid: string }
  | { kind: 'name'; name: string };

// What the server does at the target (recovery_target_action).
export type TargetAction = 'promote' | 'pause' | 'shutdown';

// recover's --target values that are recovery targets; any other value of --target named a config target
// (lib/cli/run-task.ts resolved it as one)
const TARGET_WORDS = ['immediate', 'latest'] as const;

// A timestamp as PostgreSQL reads timestamptz (ISO date, a space or T, time with optional fraction), and its zone:
// Z, UTC, GMT, +HH, +HHMM or +HH:MM. Named zones (Europe/Berlin) are refused: they cannot be checked here, and a
// wrong guess at the zone is an hour of transactions lost or replayed.
const TIME_RE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

// Reads --target-time: the moment, and the text PostgreSQL gets (with +00 appended when no zone was given).
export function parseTargetTime(text: string): { time: Date; text: string; assumedUtc: boolean } {
  const m = TIME_RE.exec(text.trim());
  const hint = "write it as PostgreSQL prints timestamptz, with its zone: '2026-11-30 03:12:00+00' (or +01:00, Z, UTC)";
  if (!m) throw usageError(`invalid --target-time "${text}": expected a date and time such as 2026-11-30 03:12:00+00`, hint);
  const [, date, clock, zone] = m;
  const offset = !zone || /^(z|utc|gmt)$/i.test(zone) ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const time = new Date(`${date}T${clock.length === 5 ? `${clock}:00` : clock}${offset}`);
  const [y, mo, d] = date.split('-').map(Number);
  // Date rolls 2026-02-30 over into March; PostgreSQL refuses it
  if (Number.isNaN(time.getTime()) || mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) throw usageError(`invalid --target-time "${text}": not a real moment`, hint);
  const assumedUtc = !zone;
  return { time, text: assumedUtc ? `${text.trim()}+00` : text.trim(), assumedUtc };
}

// The recovery target of recover's options: --target immediate|latest, --target-time, --target-lsn, --target-xid,
// --target-name; at most one (exit 3 otherwise), latest when none is given.
export function targetFromOptions(o: { target?: string; targetTime?: string; targetLsn?: string; targetXid?: string; targetName?: string }): RecoveryTarget {
  const word = o.target !== undefined && (TARGET_WORDS as readonly string[]).includes(o.target) ? o.target : undefined;
  const given = [
    word !== undefined && `--target ${word}`,
    o.targetTime !== undefined && '--target-time',
    o.targetLsn !== undefined && '--target-lsn',
    o.targetXid !== undefined && '--target-xid',
    o.targetName !== undefined && '--target-name',
  ].filter((g): g is string => Boolean(g));
  if (given.length > 1) {
    throw usageError(`recovery stops at one target, and ${given.join(' and ')} were given`, 'give one of --target immediate|latest, --target-time, --target-lsn, --target-xid, --target-name');
  }
  if (o.targetTime !== undefined) return { kind: 'time', ...parseTargetTime(o.targetTime) };
  if (o.targetLsn !== undefined) {
    let lsn: string;
    try {
      lsn = formatLsn(parseLsn(o.targetLsn));
    } catch {
      throw usageError(`invalid --target-lsn "${o.targetLsn}": expected a WAL location like 0/5000060 (two hex numbers)`, 'SELECT pg_current_wal_lsn() on the primary prints one; pg_waldump shows the records of an archived segment');
    }
    return { kind: 'lsn', lsn };
  }
  if (o.targetXid !== undefined) {
    const xid = o.targetXid.trim();
    if (!/^\d+$/.test(xid) || BigInt(xid) < 3n || BigInt(xid) >= 1n << 64n) {
      throw usageError(`invalid --target-xid "${o.targetXid}": expected a transaction id (a whole number of at least 3)`, 'SELECT txid_current() in a session, or the xid pg_waldump shows for the COMMIT record');
    }
    return { kind: 'xid', xid };
  }
  if (o.targetName !== undefined) {
    // PostgreSQL's MAXFNAMELEN: a restore point name is at most 63 bytes
    if (o.targetName === '' || Buffer.byteLength(o.targetName) > 63) {
      throw usageError(`invalid --target-name "${o.targetName}": a restore point name has 1 to 63 bytes`, 'pg_create_restore_point(name) made it; every base backup creates one named after its id');
    }
    return { kind: 'name', name: o.targetName };
  }
  return word === 'immediate' ? { kind: 'immediate' } : { kind: 'latest' };
}

// The target for messages and reports: "latest", "immediate", "time 2026-11-30 03:12:00+00", "lsn 0/5000060", ...
export function describeTarget(t: RecoveryTarget): string {
  switch (t.kind) {
    case 'latest':
    case 'immediate':
      return t.kind;
    case 'time':
      return `time ${t.text}`;
    case 'lsn':
      return `lsn ${t.lsn}`;
    case 'xid':
      return `xid ${t.xid}`;
    case 'name':
      return `name ${t.name}`;
  }
}

// The five settings that name a recovery target, and the one a target sets.
const TARGET_SETTINGS = ['recovery_target', 'recovery_target_time', 'recovery_target_lsn', 'recovery_target_xid', 'recovery_target_name'] as const;

function targetSetting(t: RecoveryTarget): [string, string] | undefined {
  switch (t.kind) {
    case 'latest':
      return undefined;
    case 'immediate':
      return ['recovery_target', 'immediate'];
    case 'time':
      return ['recovery_target_time', t.text];
    case 'lsn':
      return ['recovery_target_lsn', t.lsn];
    case 'xid':
      return ['recovery_target_xid', t.xid];
    case 'name':
      return ['recovery_target_name', t.name];
  }
}

// The postgresql.auto.conf settings of a target, in the order they must be written. The other four target settings
// are written empty first: a backup of a server that was itself recovered carries its old target in
// postgresql.auto.conf, and PostgreSQL refuses two targets. The order matters because PostgreSQL applies the
// settings in file order and refuses even an empty one after a target is set ("multiple recovery targets
// specified"). Inclusive (PostgreSQL's default): a time target keeps commits at that very moment, an xid target
// keeps that transaction, an LSN target the record at that location. recovery_target_timeline latest follows the
// archive's newest timeline, as PostgreSQL does by default.
export function recoverySettings(t: RecoveryTarget, action: TargetAction): Record<string, string> {
  const set = targetSetting(t);
  const s: Record<string, string> = {};
  for (const name of TARGET_SETTINGS) if (name !== set?.[0]) s[name] = '';
  if (set) s[set[0]] = set[1];
  s.recovery_target_inclusive = 'on';
  s.recovery_target_timeline = 'latest';
  // without a target PostgreSQL ignores the action: the end of the archive always promotes
  if (set) s.recovery_target_action = action;
  return s;
}
