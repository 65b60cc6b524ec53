import { ActionError } from '../../src/errors.js';

/** Runs `fn`, expecting it to throw an ActionError (the errors meant for people), and returns it. */
export function thrown(fn: () => unknown): ActionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ActionError);
    return e as ActionError;
  }
  throw new Error('expected an ActionError, nothing was thrown');
}
