/**
 * `nest-tiered-cache/testing`: the contract suite every backend passes, for third-party backends.
 * Not imported by the main entry; it boots Nest application contexts and registers tests with the
 * runner you give it (Jest, Vitest, Mocha or `node:test`).
 */
export {
  describeBackendContract,
  type BackendContractContext,
  type BackendContractTarget,
} from './backend-contract.js';
export type { ContractTestRunner } from './contract-harness.js';
export { deepEqual } from './contract-assert.js';
