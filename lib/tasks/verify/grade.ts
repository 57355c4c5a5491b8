import { LEVEL_NAMES, worstFirst, worstLevel, type Level } from '../../check/level.ts';
import { statusLine, type PerfDatum } from '../../check/output.ts';
import { runbookPages, type RunbookPage } from '../../check/runbook-pages.ts';
import { formatSize } from '../../units.ts';

// How verify grades what it finds (runbooks/verify.md explains each finding and what to do):
//   CRITICAL (2)  a file a manifest or sidecar lists is missing, or its size or sha256 differs (a compressed WAL file
//                 is hashed decompressed, as its sidecar lists it); a manifest or sidecar that does not parse; a gap
//                 in the WAL from the oldest base backup label on (recovery from that backup cannot cross it); a
//                 timeline's history file missing; segments of another size; a damaged pgops-repo.json
//   WARNING (1)   an incomplete set (no manifest) or a leftover temp file untouched for a day; a WAL data object
//                 without its sidecar; objects no manifest or sidecar lists; a WAL gap no base backup needs
//   UNKNOWN (3)   the repository cannot be read, --db names no set, a file could not be read, a manifest is newer
//                 than this pgops reads: verify cannot vouch for it
//   OK (0)        every listed file matched
// Levels combine as every pgops check combines them (lib/check/level.ts): CRITICAL > WARNING > UNKNOWN > OK.

// What a finding is about: the kinds that count as damaged or missing files are counted in the perfdata; each kind
// names its runbook page (lib/check/runbook-pages.ts).
export const FINDING_KINDS = [
  'damaged', // a stored file differs from its manifest or sidecar
  'missing', // a file a manifest or sidecar lists is not stored
  'manifest', // a set's manifest cannot be used
  'wal', // continuity, timelines and segment sizes of a WAL archive
  'incomplete', // a set without a manifest
  'orphan', // a WAL data object without its sidecar, or one its sidecar does not name
  'temp', // a temp file of a write in progress or of a crashed writer
  'unlisted', // an object that no manifest or sidecar lists
  'unreadable', // a file verify could not read: it cannot vouch for it
  'repository', // pgops-repo.json, the selection
  'ok', // what was checked and found whole
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  level: Level;
  kind: FindingKind;
  text: string;
  /** the repository key the finding is about, when it is about one */
  key?: string;
}

export interface VerifyCounts {
  sets: number;
  walSystems: number;
  /** files a manifest or sidecar lists that verify checked (read, or found missing or of another size in the listing) */
  files: number;
  /** bytes read and hashed */
  bytes: number;
  damaged: number;
  missing: number;
  missingSegments: number;
}

export interface VerifyGrade {
  level: Level;
  /** the Nagios status line with perfdata */
  line: string;
  /** the status line, then one line per finding, worst first */
  lines: string[];
  perf: PerfDatum[];
  /** the runbook pages of the worst findings */
  runbook: RunbookPage[];
}

/** at most this many problems are named in the status line; the lines after it name every one */
const NAMED_IN_LINE = 5;

// Counts the damaged and missing files among the findings.
export function countProblems(findings: readonly Finding[]): { damaged: number; missing: number } {
  return { damaged: findings.filter((f) => f.kind === 'damaged').length, missing: findings.filter((f) => f.kind === 'missing').length };
}

// The kind whose runbook step handles a finding: a damaged or missing file of the WAL archive is handled with the
// archive's gaps (runbooks/verify.md step 3), not as a set's file (step 4).
export function runbookKind(f: Finding): FindingKind {
  return (f.kind === 'damaged' || f.kind === 'missing') && f.key?.startsWith('wal/') ? 'wal' : f.kind;
}

// Grades the findings and builds the status line: counts first, then the worst problems by name.
export function gradeVerify(findings: readonly Finding[], counts: VerifyCounts, seconds: number, walSummary?: string): VerifyGrade {
  const level = worstLevel(findings.map((f) => f.level));
  const what = `${counts.files} files (${formatSize(counts.bytes)}) of ${counts.sets} set(s) and ${counts.walSystems} WAL archive(s)`;
  const problems = worstFirst(findings.filter((f) => f.level !== 0));
  let text: string;
  if (problems.length === 0) {
    text = `${what} match their manifests and sidecars${walSummary ? `; ${walSummary}` : ''}`;
  } else {
    const bad = [counts.damaged && `${counts.damaged} damaged`, counts.missing && `${counts.missing} missing`].filter(Boolean).join(', ');
    const named = problems.slice(0, NAMED_IN_LINE).map((f) => f.text);
    if (problems.length > NAMED_IN_LINE) named.push(`and ${problems.length - NAMED_IN_LINE} more (listed below)`);
    text = `${bad ? `${bad} of ` : ''}${what}: ${named.join('; ')}`;
  }
  const perf: PerfDatum[] = [
    { label: 'files', value: counts.files, min: 0 },
    { label: 'bytes', value: counts.bytes, uom: 'B', min: 0 },
    { label: 'seconds', value: Math.round(seconds * 10) / 10, uom: 's', min: 0 },
    { label: 'damaged', value: counts.damaged, crit: 0, min: 0 },
    { label: 'missing', value: counts.missing, crit: 0, min: 0 },
    { label: 'missing_segments', value: counts.missingSegments, min: 0 },
  ];
  const line = statusLine('VERIFY', level, text, perf);
  const ordered = worstFirst(findings);
  const lines = [line, ...ordered.map((f) => `[${LEVEL_NAMES[f.level]}] ${f.text}`)];
  return { level, line, lines, perf, runbook: runbookPages('verify', ordered.map((f) => ({ level: f.level, kind: runbookKind(f) }))) };
}
