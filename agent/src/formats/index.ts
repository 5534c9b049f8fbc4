/**
 * Wire formats both sides use: notices, manifests, the delta container, the .ota bundle.
 */
export * from './delta/index.js';
export * from './metadata/index.js';
export * from './bundle/index.js';
