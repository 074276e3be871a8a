/**
 * An invalidation, as the tiers apply it and as listeners receive it (the hook for cross-instance
 * L1 coherence). Keys, globs, tags and prefixes are fully namespaced.
 */
export type InvalidationEvent =
  | { kind: 'keys'; keys: readonly string[] }
  | { kind: 'pattern'; glob: string }
  | { kind: 'tags'; tags: readonly string[] }
  | { kind: 'clear'; prefix: string };
