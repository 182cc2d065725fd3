/**
 * Where the public conformance artifacts (XSDs, test suites, sample exports) live: outside the repository, shared
 * by the team's machines at one path; OPENFISKAL_CONFORMANCE_ARTIFACTS points elsewhere.
 */
import { join } from 'node:path';

export const CONFORMANCE_ARTIFACTS =
  process.env.OPENFISKAL_CONFORMANCE_ARTIFACTS ?? '/work/shared/conformance-artifacts';

/** A path inside the artifacts, e.g. `artifact('austria', 'generated-sample')`. */
export const artifact = (...parts: string[]): string => join(CONFORMANCE_ARTIFACTS, ...parts);
