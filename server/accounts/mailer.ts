import nodemailer from 'nodemailer';
import type pino from 'pino';

export interface VerificationMail {
  to: string;
  name: string;
  link: string;
}

export interface Mailer {
  /** Resolves once the mail is handed over (or logged); rejects when SMTP fails. */
  sendVerification(mail: VerificationMail): Promise<void>;
  readonly transport: 'smtp' | 'log';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function verificationMessage(mail: VerificationMail) {
  const greeting = mail.name ? `Hello ${mail.name},` : 'Hello,';
  const text = [
    greeting,
    '',
    'Please confirm your email address for Face Studio by opening this link:',
    '',
    mail.link,
    '',
    'The link is valid for 48 hours. If you did not sign up, you can ignore this email.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<p>${escapeHtml(greeting)}</p>
<p>Please confirm your email address for Face Studio:</p>
<p><a href="${escapeHtml(mail.link)}">Verify my email address</a></p>
<p style="color:#555">Or paste this link into your browser: ${escapeHtml(mail.link)}</p>
<p style="color:#555">The link is valid for 48 hours. If you did not sign up, you can ignore this email.</p>
</body></html>`;
  return { subject: 'Verify your Face Studio email address', text, html };
}

/**
 * Email over SMTP (nodemailer) when `smtpUrl` is set, e.g. smtp://user:pass@host:587 or
 * smtps://host:465. Without it, the verification link is written to the server log so a
 * local user can open it. Passwords in the SMTP URL are never logged.
 */
export function createMailer(opts: { smtpUrl?: string; from?: string; logger: pino.Logger }): Mailer {
  const { smtpUrl, logger } = opts;
  if (!smtpUrl) {
    return {
      transport: 'log',
      async sendVerification(mail) {
        logger.info({ to: mail.to, verifyUrl: mail.link }, 'SMTP_URL is not set: open this link to verify the email address');
      },
    };
  }
  const transporter = nodemailer.createTransport(smtpUrl);
  const from = opts.from ?? 'Face Studio <no-reply@facestudio.local>';
  return {
    transport: 'smtp',
    async sendVerification(mail) {
      const msg = verificationMessage(mail);
      await transporter.sendMail({ from, to: mail.to, ...msg });
      logger.info({ to: mail.to }, 'verification email sent');
    },
  };
}
