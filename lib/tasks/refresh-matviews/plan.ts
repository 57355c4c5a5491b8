import { usageError } from '../../errors.ts';
import type { ActionStatus } from '../../plan/outcome.ts';
import { compareNames } from '../../pg/display-name.ts';
import type { Matview } from './catalog.ts';

export interface RefreshItem {
  view: Matview;
  concurrently: boolean;
  /** why it is (or is not) refreshed concurrently */
  why: string;
  status: ActionStatus;
  note?: string;
  attempts?: number;
  durationMs?: number;
  sizeAfter?: number;
  error?: string;
}

// Views in an order where every view comes after the views it reads (Kahn's algorithm; ties by name). Dependencies
// on views outside the list still order the ones inside it, through the whole graph. A cycle cannot exist in
// PostgreSQL; should one show, the rest follow in name order.
export function dependencyOrder(all: readonly Matview[]): Matview[] {
  const byOid = new Map(all.map((m) => [m.oid, m]));
  const pending = new Map(all.map((m) => [m.oid, new Set(m.dependsOn.filter((d) => byOid.has(d)))]));
  const out: Matview[] = [];
  while (pending.size) {
    const ready = [...pending].filter(([, deps]) => deps.size === 0).map(([oid]) => byOid.get(oid)!);
    const next = (ready.length ? ready : [...pending.keys()].map((o) => byOid.get(o)!)).sort((a, b) => compareNames(a.schema, b.schema) || compareNames(a.name, b.name))[0];
    out.push(next);
    pending.delete(next.oid);
    for (const deps of pending.values()) deps.delete(next.oid);
  }
  return out;
}

// Finds the views --matview names; a name that matches nothing stops the run (exit 3) before anything changes.
export function resolveMatviews(all: readonly Matview[], names: readonly { schema: string; name: string }[], database: string): Set<number> {
  return new Set(names.map((n) => {
    const found = all.find((m) => m.schema === n.schema && m.name === n.name);
    if (!found) {
      throw usageError(`materialized view ${n.schema}.${n.name} does not exist in database "${database}"`, 'write --matview SCHEMA.NAME (public when no schema); names are case-sensitive, double-quote a name that holds a dot');
    }
    return found.oid;
  }));
}

// How each chosen view is refreshed. CONCURRENTLY needs a populated view with a usable unique index, and lets
// readers go on; a plain REFRESH holds an ACCESS EXCLUSIVE lock, blocking every reader until it ends.
export function planRefresh(all: readonly Matview[], chosen: ReadonlySet<number> | undefined, concurrentlyOnly: boolean): RefreshItem[] {
  return dependencyOrder(all).filter((m) => !chosen || chosen.has(m.oid)).map((view) => {
    const concurrently = view.populated && view.uniqueIndex !== null;
    const why = concurrently
      ? `CONCURRENTLY (unique index ${view.uniqueIndex}): readers are not blocked`
      : !view.populated
        ? 'plain: not populated yet (CONCURRENTLY needs a populated view); blocks readers while it runs'
        : 'plain: no unique index on plain columns without WHERE; blocks readers while it runs';
    const item: RefreshItem = { view, concurrently, why, status: 'planned' };
    if (!view.mayRefresh) {
      item.status = 'skipped';
      item.note = 'the role does not own it: REFRESH needs the owner';
    } else if (!concurrently && concurrentlyOnly) {
      item.status = 'skipped';
      item.note = '--concurrently-only: a plain refresh would block its readers';
    }
    return item;
  });
}
