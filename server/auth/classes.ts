export const USER_CLASSES = ['Anon', 'Basic', 'Professional', 'Enterprise'] as const;
export type UserClass = (typeof USER_CLASSES)[number];

/** Classes that may use the advanced generation parameters. */
export function hasAdvancedParams(cls: UserClass): boolean {
  return cls === 'Professional' || cls === 'Enterprise';
}
