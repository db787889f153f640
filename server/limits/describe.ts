import type { Config } from '../config/config';
import { USER_CLASSES } from '../auth/classes';

/** A window length in words: 60 -> "minute", 86400 -> "day", 90 -> "90 s". */
export function windowText(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? 'day' : `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? 'minute' : `${seconds / 60} minutes`;
  return `${seconds} s`;
}

/** The configured limits in one sentence part: "Anon: 1 per minute and 60 per day; Basic: …". */
export function limitsSummary(config: Pick<Config, 'limits' | 'windows'>): string {
  return USER_CLASSES.map((cls) => {
    const l = config.limits[cls];
    return `${cls}: ${l.burst} per ${windowText(config.windows.burst)} and ${l.daily} per ${windowText(config.windows.daily)}`;
  }).join('; ');
}
