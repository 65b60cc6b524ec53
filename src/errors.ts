/**
 * A failure meant for a person: what went wrong, for which image, and the fix.
 * Every error the action raises on purpose is one of these; anything else is a bug
 * and is reported with its stack.
 */
export interface ActionErrorDetails {
  /** The image (`repo@sha256:…` or as written) the failure is about. */
  image?: string;
  /** The input that is wrong, e.g. `images`. */
  input?: string;
  /** What to do about it: the permission line, the input to set, the command to run. */
  fix?: string;
  cause?: unknown;
}

export class ActionError extends Error {
  readonly image?: string;
  readonly input?: string;
  readonly fix?: string;

  constructor(what: string, details: ActionErrorDetails = {}) {
    super(formatMessage(what, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ActionError';
    this.image = details.image;
    this.input = details.input;
    this.fix = details.fix;
  }
}

/** A failure whose job summary was already written, with the cause on top: not summarized again. */
export class SummarizedError extends ActionError {}

/** `<image>: input `x`: <what>. Fix: <fix>` with the parts that are known. */
export function formatMessage(what: string, d: ActionErrorDetails): string {
  const where = [d.image, d.input ? `input \`${d.input}\`` : undefined].filter(Boolean).join(', ');
  const body = where ? `${where}: ${what}` : what;
  return d.fix ? `${body.replace(/[.\s]+$/, '')}. Fix: ${d.fix}` : body;
}
