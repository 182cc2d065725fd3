/** Merges a metadata patch into stored metadata: a key set to null is removed, others are set. */
export function mergeMetadata(
  current: Record<string, string>,
  patch: Record<string, string | null>,
): Record<string, string> {
  const merged: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- metadata is a plain string map by contract
      delete merged[key];
    } else {
      merged[key] = value;
    }
  }
  return merged;
}
