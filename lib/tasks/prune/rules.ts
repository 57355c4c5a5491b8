import { usageError } from '../../errors.ts';
import type { OptionValues } from '../../options.ts';
import { hasRules, type RetentionRules } from './plan.ts';

// The retention rules prune's options give; refuses (exit 3) when none is given.
export function retentionRules(options: OptionValues): RetentionRules {
  const rules: RetentionRules = {
    keepLast: options.keepLast === undefined ? undefined : Number(options.keepLast),
    keepDaily: Number(options.keepDaily ?? 0),
    keepWeekly: Number(options.keepWeekly ?? 0),
    keepMonthly: Number(options.keepMonthly ?? 0),
    incompleteGrace: Number(options.incompleteGrace ?? 24 * 3_600_000),
  };
  if (!hasRules(rules)) {
    throw usageError(
      'no retention rule given: pruning would delete every backup set but the newest',
      'pass at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
    );
  }
  return rules;
}
