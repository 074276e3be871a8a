import type { BackendDefinition } from './backend-definition.js';
import { filesystemBackend } from './filesystem.backend.js';
import { memoryNoSerializerBackend } from './memory-no-serializer.backend.js';
import { memoryBackend } from './memory.backend.js';
import { nullBackend } from './null.backend.js';
import { redisAtomicBackend, redisBackend } from './redis.backend.js';

/**
 * Every built-in backend, in the order error messages list them. A new built-in backend is one
 * file declaring it with `defineBackend` plus one line here (and one in the contract suite's
 * targets); nothing else names backends.
 */
export const BUILT_IN_BACKENDS: ReadonlyArray<BackendDefinition<never, unknown>> = [
  memoryBackend,
  memoryNoSerializerBackend,
  redisBackend,
  redisAtomicBackend,
  filesystemBackend,
  nullBackend,
];
