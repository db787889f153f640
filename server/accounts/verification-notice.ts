import type { Mailer } from './mailer';

/**
 * What a new user is told about the verification link. Without SMTP_URL the mailer writes the
 * link to the server log (development mode) and sends nothing, so the page and the API say
 * that instead of "we sent you an email": a user would otherwise wait for mail that never comes.
 */
export type Delivery = Mailer['transport'];

/** How the sign-up API response names the delivery (`verification_link`). */
export const DELIVERY_NAME: Record<Delivery, 'emailed' | 'server_log'> = { smtp: 'emailed', log: 'server_log' };

/** The sentence both the pages and the API use when no mail is configured. */
export const NO_MAIL_TEXT = 'This server has no mail configured (development mode: SMTP_URL is not set), so no email was sent.';
const DEV_MODE = `${NO_MAIL_TEXT} The verification link is in the operator's server log`;

export function registeredNotice(delivery: Delivery, email: string): string {
  return delivery === 'smtp'
    ? `We sent a verification link to ${email}. Open it to verify your address, then create your API keys.`
    : `${DEV_MODE}: whoever runs this server can open it for ${email}, or pass it on.`;
}

export function resentNotice(delivery: Delivery, email?: string): string {
  if (delivery === 'log') return `${DEV_MODE}; a new one was written there${email ? ` for ${email}` : ' if that address belongs to an account that is not verified yet'}.`;
  return email
    ? `A new verification email is on its way to ${email}.`
    : 'If that address belongs to an account that is not verified yet, a new verification email is on its way.';
}
