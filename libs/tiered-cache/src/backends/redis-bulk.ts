import type { Cluster, Redis } from 'ioredis';

/** Keys per UNLINK command, and per step of UNLINKs sent together. */
export const UNLINK_BATCH = 500;
/** Entries deleted per batch of commands (three keys each), and per step of batches. */
export const DELETE_BATCH = 250;

/** One command of a bulk operation, under its deadline (`what` names it in the timeout error). */
export type Step = <T>(command: Promise<T>, what: string) => Promise<T>;

/**
 * Cuts groups of keys (one hash slot each on a cluster: a multi-key command must stay in one) into
 * batches of at most `size` keys, and the batches into steps of at most `size` keys in all: the
 * batches of a step are sent together (ioredis pipelines them per node), the steps one by one, so
 * that a bulk operation never has more than `size` keys in flight.
 */
export function bulkSteps(groups: readonly (readonly string[])[], size: number): string[][][] {
  const steps: string[][][] = [];
  let step: string[][] = [];
  let inStep = 0;
  for (const group of groups)
    for (let i = 0; i < group.length; i += size) {
      const batch = group.slice(i, i + size);
      if (inStep + batch.length > size && inStep > 0) {
        steps.push(step);
        step = [];
        inStep = 0;
      }
      step.push(batch);
      inStep += batch.length;
    }
  if (step.length > 0) steps.push(step);
  return steps;
}

/**
 * UNLINKs keys grouped by hash slot, at most {@link UNLINK_BATCH} per command and per step, each
 * step under `step`'s deadline; resolves to how many existed.
 */
export async function unlinkInSteps(
  client: Redis | Cluster,
  groups: readonly (readonly string[])[],
  step: Step,
): Promise<number> {
  let removed = 0;
  for (const batches of bulkSteps(groups, UNLINK_BATCH)) {
    const counts = await step(
      Promise.all(batches.map((batch) => client.unlink(...batch))),
      'UNLINK',
    );
    for (const count of counts) removed += count;
  }
  return removed;
}
