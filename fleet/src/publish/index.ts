/**
 * Publishing a release: artifacts where devices fetch them, the signed notice on the broker.
 */
export { artifactsOf, checkArtifacts, copyArtifacts, noticeChannel, noticeTopics, publishNotice, readReleaseDir, serveRolloutDocument, type CopyProgress, type ReleaseFiles } from './publish.js';
