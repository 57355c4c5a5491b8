import { messageOf } from '../errors.ts';

// A PostgreSQL error for a summary: its message, its DETAIL when it has one, and its SQLSTATE
// ("could not create unique index "t_u_ccnew": Key (u)=(1) is duplicated. (SQLSTATE 23505)").
export function describePgError(err: unknown): string {
  const e = err as { code?: string; detail?: string };
  const detail = typeof e?.detail === 'string' && e.detail ? `: ${e.detail}` : '';
  const code = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : '';
  return `${messageOf(err)}${detail}${code}`;
}
