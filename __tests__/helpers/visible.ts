/**
 * What a person sees of a run: the runner consumes `::add-mask::` commands
 * (that is how secrets get masked) and never prints them; everything else is shown.
 */
export function visibleLog(run: { stdout: string; stderr: string }): string {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** Every place a run could leak a secret to: the log, the outputs and the job summary. */
export function everythingPrinted(run: { stdout: string; stderr: string; outputs: Record<string, string>; summary: string }): string {
  return [visibleLog(run), ...Object.values(run.outputs), run.summary].join('\n');
}
