/**
 * Wire formats both sides use: notices, manifests, the delta container.
 */
export * from './delta/index.js';
export * from './metadata/index.js';
