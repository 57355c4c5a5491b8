import { historyFileName, parseLsn, segmentOfLsn } from './names.ts';

// One line of a timeline history file: the parent timeline ended at switchpoint, where the next one began.
export interface HistoryEntry {
  parent: number;
  switchpoint: bigint;
  reason: string;
}

// A timeline of the current timeline's ancestry with the LSN range it covers (end undefined for the current one).
export interface TimelineSpan {
  timeline: number;
  begin: bigint;
  end?: bigint;
}

// Parses a timeline history file (00000003.history): "parentTLI<TAB>switchpoint<TAB>reason" lines, oldest first.
export function parseHistory(text: string, timeline: number): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${historyFileName(timeline)} line ${i + 1} is not "timeline<TAB>LSN<TAB>reason": ${JSON.stringify(line.slice(0, 80))}`);
    const parent = Number(m[1]);
    const previous = entries.at(-1);
    if (parent >= timeline || (previous && (parent <= previous.parent || parseLsn(m[2]) < previous.switchpoint))) {
      throw new Error(`${historyFileName(timeline)} line ${i + 1}: timelines and switchpoints must increase and stay below ${timeline}`);
    }
    entries.push({ parent, switchpoint: parseLsn(m[2]), reason: m[3] });
  }
  return entries;
}

// The ancestry of a timeline, oldest first: each parent covers up to its switchpoint, the timeline itself from the last one.
export function timelineChain(history: readonly HistoryEntry[], timeline: number): TimelineSpan[] {
  const spans: TimelineSpan[] = [];
  let begin = 0n;
  for (const e of history) {
    spans.push({ timeline: e.parent, begin, end: e.switchpoint });
    begin = e.switchpoint;
  }
  spans.push({ timeline, begin });
  return spans;
}

// The timeline whose file recovery reads for segment segno: the newest one that began at or before that segment
// (as PostgreSQL's XLogFileReadAnyTLI picks it), so the segment holding a switchpoint comes from the new timeline.
export function timelineOfSegment(chain: readonly TimelineSpan[], segno: number, segmentSize: number): number {
  for (let i = chain.length - 1; i >= 0; i--) {
    if (segmentOfLsn(chain[i].begin, segmentSize) <= segno) return chain[i].timeline;
  }
  return chain[0].timeline;
}
