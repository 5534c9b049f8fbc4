/**
 * Installing a release's artifact into the target slot: where its bytes come from (a release
 * directory, an .ota bundle, or mirrors through the downloader) and how they are written (a raw
 * image as is, a delta through the streaming decoder), resumable at every segment.
 */
export { DirectorySource, HttpSource, NoSource, configuredSource } from './artifacts.js';
export type { ArtifactConsumer, ArtifactSource, LocalSource } from './artifacts.js';
export { BundleSource, isBundleFile } from './bundle.js';
export { installArtifact } from './install.js';
