/**
 * Resolves once `predicate` is true, polling every `intervalMs` (for effects that happen in
 * another process, such as a Redis server, where no event can be awaited); rejects after
 * `timeoutMs` with `what` in the message.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
  intervalMs = 2,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
