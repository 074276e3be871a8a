import type { BackendDefinition } from './backend-definition.js';
import { filesystemBackend } from './filesystem.backend.js';
import { memoryNoSerializerBackend } from './memory-no-serializer.backend.js';
import { memoryBackend } from './memory.backend.js';
import { nullBackend } from './null.backend.js';
import { redisAtomicBackend, redisBackend } from './redis.backend.js';

/**
 * Every built-in backend, in the order error messages list them. A new built-in backend is one
 * file declaring it (and its options type) with `defineBackend`, plus one line here and one in
 * the contract suite's targets: option validation, the `TierOptions` union and creation all
 * follow from this list.
 */
export const BUILT_IN_BACKENDS = [
  memoryBackend,
  memoryNoSerializerBackend,
  redisBackend,
  redisAtomicBackend,
  filesystemBackend,
  nullBackend,
] as const;

/** The options of any built-in backend's tier, told apart by `backend` (derived from the list). */
export type BuiltInTierOptions = (typeof BUILT_IN_BACKENDS)[number] extends infer D
  ? D extends BackendDefinition<infer Options, infer _Settings>
    ? Options
    : never
  : never;
