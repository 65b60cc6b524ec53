/**
 * What `npm run demo` prints of a run: what a person sees in the Actions log.
 * The runner consumes `::add-mask::<value>` commands (they are never shown) and
 * writes every masked value as *** in the log; the raw output of the step holds
 * the OIDC token, the registry token and password in those commands, so it is
 * never printed as is.
 */
import type { RunResult } from '../sandbox/runner.js';

const MASK_COMMAND = '::add-mask::';

/** Command data as the runner decodes it (what @actions/core escapes: %, CR, LF). */
const unescapeData = (s: string): string => s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');

/** The runner's log masking, for one step. */
export class ActionsLogMask {
  /** The values registered, and what is replaced: each value and each line of a multi-line one. */
  private readonly registered = new Set<string>();
  private readonly replaced = new Set<string>();

  /** Registers the `::add-mask::` values in `text` (a step's stdout or stderr). */
  register(text: string): void {
    for (const line of text.split('\n')) {
      if (!line.startsWith(MASK_COMMAND)) continue;
      const value = unescapeData(line.slice(MASK_COMMAND.length).replace(/\r$/, ''));
      if (value.trim() === '') continue;
      this.registered.add(value);
      this.replaced.add(value);
      // A multi-line secret can be printed one line at a time.
      for (const part of value.split(/\r?\n/)) if (part.trim() !== '') this.replaced.add(part);
    }
  }

  /** How many different values were registered. */
  get count(): number {
    return this.registered.size;
  }

  /** `text` as the log shows it: no mask commands, every masked value (longest first) as ***. */
  apply(text: string): string {
    const shown = text
      .split('\n')
      .filter((line) => !line.startsWith(MASK_COMMAND))
      .join('\n');
    return [...this.replaced].sort((a, b) => b.length - a.length).reduce((t, v) => t.replaceAll(v, '***'), shown);
  }
}

const rule = (title: string): string => `\n──── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`;

/** Prints the step's log, outputs and job summary as a person would see them, then how many values were masked. */
export function printRun(run: Pick<RunResult, 'code' | 'stdout' | 'stderr' | 'outputs' | 'summary'>, write: (text: string) => void): void {
  const mask = new ActionsLogMask();
  mask.register(run.stdout);
  mask.register(run.stderr);
  const line = (text: string): void => write(`${mask.apply(text)}\n`);
  line(`${run.stdout}${run.stderr}`.replace(/\n$/, ''));
  line(rule(`step outputs (exit code ${run.code})`));
  // Masked before shortening: a cut could leave part of a secret that no longer matches.
  for (const [k, raw] of Object.entries(run.outputs)) {
    const v = mask.apply(raw);
    line(`${k}: ${v.length > 400 ? `${v.slice(0, 400)}…` : v}`);
  }
  line(rule('job summary'));
  line(run.summary || '(none)');
  line(rule('masked'));
  // Named without the command itself: nothing printed here may look like one.
  write(`${mask.count} value(s) masked by the step (tokens, passwords): shown as ***, as in the Actions log.\n`);
}
