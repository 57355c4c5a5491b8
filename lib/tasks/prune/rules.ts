import { usageError } from '../../errors.ts';
import type { OptionsOf } from '../../options.ts';
import { hasRules, type RetentionRules } from './plan.ts';

// The retention rules prune's options give; refuses (exit 3) when none is given.
export function retentionRules(options: Pick<OptionsOf<'prune'>, 'keepLast' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'incompleteGrace'>): RetentionRules {
  const rules: RetentionRules = {
    keepLast: options.keepLast,
    keepDaily: options.keepDaily,
    keepWeekly: options.keepWeekly,
    keepMonthly: options.keepMonthly,
    incompleteGrace: options.incompleteGrace,
  };
  if (!hasRules(rules)) {
    throw usageError(
      'no retention rule given: pruning would delete every backup set but the newest',
      'pass at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
    );
  }
  return rules;
}
