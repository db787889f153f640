export const USER_CLASSES = ['Anon', 'Basic', 'Professional', 'Enterprise'] as const;
export type UserClass = (typeof USER_CLASSES)[number];

/** The classes an account can have (Anon is the absence of one). */
export type PaidClass = Exclude<UserClass, 'Anon'>;
export const PAID_CLASSES: PaidClass[] = ['Basic', 'Professional', 'Enterprise'];

/** Classes that may use the advanced generation parameters. */
export function hasAdvancedParams(cls: UserClass): boolean {
  return cls === 'Professional' || cls === 'Enterprise';
}
