// Nagios levels and the one order in which every pgops check combines them.
export type Level = 0 | 1 | 2 | 3;
export const LEVEL_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];

// How bad a level is, in the monitoring plugins' max_state_alt order: CRITICAL > WARNING > UNKNOWN > OK. A check
// that could not look at one thing must not hide a problem found in another, so UNKNOWN ranks below both; it still
// outranks OK, since what could not be looked at cannot be vouched for.
const RANK: Record<Level, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };

// The rank of a level: higher is worse.
export function levelRank(level: Level): number {
  return RANK[level];
}

// The overall level of several checks: the worst of them, OK when there are none.
export function worstLevel(levels: readonly Level[]): Level {
  return levels.reduce<Level>((w, l) => (RANK[l] > RANK[w] ? l : w), 0);
}

// Items sorted worst first (a stable sort keeps their order within a level).
export function worstFirst<T extends { level: Level }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => RANK[b.level] - RANK[a.level]);
}

// The level of a value against thresholds where more is worse; an absent threshold never fires.
export function levelAbove(value: number, warn?: number, crit?: number): Level {
  if (crit !== undefined && value > crit) return 2;
  if (warn !== undefined && value > warn) return 1;
  return 0;
}

// The level of a value against thresholds where less is worse.
export function levelBelow(value: number, warn?: number, crit?: number): Level {
  if (crit !== undefined && value < crit) return 2;
  if (warn !== undefined && value < warn) return 1;
  return 0;
}
