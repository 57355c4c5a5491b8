// A scenario page as a drill reads it: what failure it handles, which test drills it, and its shell steps in order,
// each marked with what it is (runbooks/README.md, "Pages that are drills").
//
// The marks are a second word on a fence's info string (GitHub highlights by the first and ignores the rest):
//   ```sh run        a step the engineer runs as written; the drill runs it, in order
//   ```sh diagnose   a step that shows the cause: it runs in order too, and while the failure lasts it may fail (the
//                    drill states the exit codes it expects of it)
//   ```sh judgement  a step whose use is the engineer's call; the drill says what it decided (run it, skip it, or
//                    what it did instead)
//   ```sh verify     the page's "How to verify" check; the drill runs it last, and it must pass
//   ```sh outside    a step away from the database host (GitHub, the cloud console, a package manager); not run
//   ```sh example    an alternative or an illustration; not run
// and the declaration is an HTML comment after the title:
//   <!-- drill
//   handles: the failure the page fixes, in a line
//   drill: test/drills/<page>.drill.test.ts    (or "none: <why>")
//   -->

import { headingSlug, shellBlocks } from '../docs/runbooks.ts';

export const STEP_KINDS = ['run', 'diagnose', 'judgement', 'verify', 'outside', 'example'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface Step {
  /** "<section slug>:<n>": the n-th shell block under that heading (1-based), as drills name steps */
  id: string;
  kind: StepKind;
  /** the heading the block is under, as written */
  section: string;
  /** the block's text, as written */
  code: string;
  /** the line of the page its fence opens on (1-based) */
  line: number;
  /** the block holds a line marked `# DESTRUCTIVE:` */
  destructive: boolean;
}

export interface DrillDeclaration {
  handles: string;
  /** the test that drills the page, or undefined with `none` when it is not drilled */
  drill?: string;
  /** why the page is not drilled (drill: none: <why>) */
  notDrilled?: string;
}

export interface DrillPage {
  declaration?: DrillDeclaration;
  steps: Step[];
  /** shell blocks without a mark (a scenario page may have none) */
  unmarked: { section: string; line: number; info: string }[];
}

// The declaration comment, if the page has one.
export function drillDeclaration(text: string): DrillDeclaration | undefined {
  const m = /<!--\s*drill\n([\s\S]*?)-->/.exec(text);
  if (!m) return undefined;
  const fields = Object.fromEntries(
    m[1]
      .split('\n')
      .map((l) => /^([a-z]+):\s*(.*)$/.exec(l.trim()))
      .filter((f): f is RegExpExecArray => f !== null)
      .map((f) => [f[1], f[2].trim()]),
  );
  const drill: string = fields.drill ?? '';
  const none = /^none:\s*(.+)$/.exec(drill);
  return { handles: fields.handles ?? '', drill: none || !drill ? undefined : drill, notDrilled: none?.[1] };
}

// The page's shell blocks in order, with their marks and the section each is under.
export function parseDrillPage(text: string): DrillPage {
  const steps: Step[] = [];
  const unmarked: DrillPage['unmarked'] = [];
  const perSection = new Map<string, number>();
  for (const b of shellBlocks(text)) {
    const [mark] = b.marks;
    if (!mark || !(STEP_KINDS as readonly string[]).includes(mark)) {
      unmarked.push({ section: b.section, line: b.line, info: ['sh', ...b.marks].join(' ') });
      continue;
    }
    const slug = headingSlug(b.section);
    const n = (perSection.get(slug) ?? 0) + 1;
    perSection.set(slug, n);
    steps.push({ id: `${slug}:${n}`, kind: mark as StepKind, section: b.section, code: b.code, line: b.line, destructive: /#\s*DESTRUCTIVE:/.test(b.code) });
  }
  return { declaration: drillDeclaration(text), steps, unmarked };
}

// The named placeholders of a text (<database>, <backup-id>, <oldest waiting file>), each once, in order; a heredoc's
// << and a redirect's < are not placeholders.
export function placeholders(code: string): string[] {
  const found = [...code.matchAll(/(?<![<\w])<([a-z][a-z0-9 _-]*[a-z0-9]|[a-z])>/gi)].map((m) => m[1]);
  return [...new Set(found)];
}

// What a destructive command looks like in a block, for the test that such a block says so: --execute, a DROP, a
// DELETE, TRUNCATE, a server stop or restart, rm -r, pg_dropcluster.
export function looksDestructive(code: string): boolean {
  return /--execute\b|\bDROP\s+(TABLE|DATABASE|SCHEMA|INDEX|ROLE)\b|\bDELETE\s+FROM\b|\bTRUNCATE\b|pg_ctl\b.*\b(stop|restart)\b|systemctl\s+(stop|restart)\b|\brm\s+-[a-z]*r|pg_dropcluster\b/i.test(code);
}
