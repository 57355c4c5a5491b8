// The JSON Schema of pgops.config.yml, from the option table: what an editor needs to complete and check a config
// (yaml-language-server, VS Code's YAML extension, JetBrains IDEs). `npm run docs` writes it to
// pgops.config.schema.json; test/unit/tools/docs/config-schema.test.ts fails when the committed file is stale.
import { OPTION_DEFS, type OptionDef } from '../../lib/options.ts';
import { TASKS } from '../../lib/tasks/index.ts';

export const SCHEMA_FILE = 'pgops.config.schema.json';

// lib/units.ts's grammar (a bare number: seconds, bytes), as JSON Schema patterns
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|min|m|h|d|w)?\\s*$';
export const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(B|kB|MB|GB|TB)?\\s*$';

type Schema = Record<string, unknown>;

// The tasks an option belongs to, as people type them: "backups list", not backups-list.
function tasksOf(def: OptionDef): string {
  if (def.tasks === '*') return 'every task';
  return def.tasks.map((t) => TASKS.find((e) => e.name === t)?.command ?? t).join(', ');
}

// What a value of the option's type may be in YAML (what lib/options.ts's convert accepts, in its usual form).
function valueSchema(def: OptionDef): Schema {
  switch (def.type) {
    case 'string':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'integer':
      return { type: 'integer', minimum: def.min ?? 0, ...(def.max === undefined ? {} : { maximum: def.max }) };
    case 'duration':
      return { type: ['string', 'number'], pattern: DURATION_PATTERN, minimum: 0 };
    case 'size':
      return { type: ['string', 'number'], pattern: SIZE_PATTERN, minimum: 0 };
    case 'choice':
      return { type: 'string', enum: [...def.choices!] };
    case 'list':
      // a YAML list, or one string of comma-separated values
      return { type: ['array', 'string'], items: { type: 'string' } };
  }
}

// One option as a property: its value's schema, its description (with the flag, tasks and variables), its default.
function optionSchema(def: OptionDef): Schema {
  const env = def.env?.length ? `; env: ${def.env.join(', ')}` : '';
  return {
    description: `${def.describe} (--${def.flag}; ${tasksOf(def)}${env})`,
    ...valueSchema(def),
    ...(def.default === undefined ? {} : { default: def.default }),
  };
}

// The schema as an object: defaults: and targets: (a map of names to the same settings), x-... keys for anchors.
export function configSchema(): Schema {
  const settings = OPTION_DEFS.filter((d) => !d.noConfig);
  const retention = settings.filter((d) => d.flag.startsWith('keep-') && d.tasks !== '*' && d.tasks.includes('prune'));
  const properties = Object.fromEntries(settings.map((d) => [d.flag, optionSchema(d)]));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pgops.config.yml',
    description: 'pgops config: defaults every target starts from, and targets that --target NAME selects. Keys are the option names without their dashes; flags that change or destroy data are never read from a file. Generated from lib/options.ts by npm run docs.',
    type: 'object',
    properties: {
      defaults: { description: 'settings every target starts from', $ref: '#/definitions/settings' },
      targets: {
        description: 'named targets: pgops <task> --target NAME takes db, repo, retention and the rest from here',
        type: ['object', 'null'],
        additionalProperties: { $ref: '#/definitions/settings' },
      },
    },
    patternProperties: { '^x-': { description: 'ignored by pgops: a place for YAML anchors' } },
    additionalProperties: false,
    definitions: {
      settings: {
        type: ['object', 'null'],
        properties: {
          ...properties,
          retention: { description: 'retention rules of pgops prune, folded into the target', $ref: '#/definitions/retention' },
        },
        additionalProperties: false,
      },
      retention: {
        type: ['object', 'null'],
        properties: Object.fromEntries(retention.map((d) => [d.flag, optionSchema(d)])),
        additionalProperties: false,
      },
    },
  };
}

// The schema file's text, as committed.
export function renderConfigSchema(): string {
  return JSON.stringify(configSchema(), null, 2) + '\n';
}
