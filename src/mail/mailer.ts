import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * Mail over SMTP (`smtp://` or `smtps://`, credentials in the URL) from `from`. nodemailer is
 * loaded with the first message, not by an instance that never sends one.
 */
/** The configured mailer: SMTP_URL when set, otherwise the log (a development default). */
export function mailerFrom(config: { mail: { smtpUrl?: string | undefined; from: string } }, logger: Logger): Mailer {
  return config.mail.smtpUrl ? createSmtpMailer(config.mail.smtpUrl, config.mail.from) : createLogMailer(logger);
}

export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  let transport: Promise<Transporter> | undefined;
  return {
    async send(message) {
      transport ??= import('nodemailer').then(({ createTransport }) => createTransport(smtpUrl));
      await (await transport).sendMail({ from, ...message });
    },
    close: () => void transport?.then((opened) => opened.close()),
  };
}

/**
 * With no SMTP server (the embedded mode), the message is written to the log at info level, links
 * included, so a developer can follow them. Never configure this where others read the logs.
 */
export function createLogMailer(logger: Logger): Mailer {
  return {
    async send(message) {
      logger.info({ mail: message }, `mail to ${message.to} not sent (no SMTP_URL): ${message.subject}`);
    },
    close: () => {},
  };
}
