/**
 * The port every export format implements. A writer streams one file for one register and period; the service
 * runs it in a job, stores the file and tracks progress. Adding a format is one file with an {@link ExportWriter}
 * plus its line in the container's writer list.
 * @module
 */
import type { Writable } from 'node:stream';
import type { Jurisdiction } from '../../regimes/jurisdictions.js';

export const EXPORT_TYPES = [
  'dsfinvk',
  'tse_tar',
  'dep7',
  'saft_cash_register',
  'nf525_archive',
  'corrispettivi',
] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/** What a writer is asked to export. */
export interface ExportSubject {
  readonly id: string;
  readonly type: ExportType;
  readonly organizationId: string;
  readonly registerId: string;
  readonly registerSerialNumber: string;
  readonly jurisdiction: Jurisdiction;
  /** Inclusive bounds, stored UTC form. */
  readonly from: string;
  readonly to: string;
  readonly closingId: string | null;
  /** When the export was requested. */
  readonly createdAt: string;
}

export interface ExportWriteContext {
  /** Aborts when the job is abandoned (lease lost, shutdown); stop writing soon after. */
  readonly signal: AbortSignal;
  /** Reports progress in the writer's own units (e.g. log messages); cheap to call often. */
  progress(done: number, total: number): Promise<void>;
}

export interface ExportWriter {
  readonly type: ExportType;
  /** The jurisdictions whose registers this format exists for. */
  readonly jurisdictions: readonly Jurisdiction[];
  readonly contentType: string;
  /** The file name offered for download (ASCII letters, digits, `._-`). */
  fileName(subject: ExportSubject): string;
  /** Streams the file into `out`; ending `out` is optional. Memory must stay flat however long the period. */
  write(out: Writable, subject: ExportSubject, context: ExportWriteContext): Promise<void>;
}

/** Keeps the characters a file name may safely carry in a Content-Disposition header. */
export function safeFileNamePart(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

/** `2026-03-01T09:30:00.000Z` → `20260301T093000Z`. */
function compactTime(timestamp: string): string {
  return timestamp.replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** `<prefix>_<serial>_<from>-<to>.tar`: what the register, the format and the period are, at a glance. */
export function tarFileName(prefix: string, subject: ExportSubject): string {
  return `${prefix}_${safeFileNamePart(subject.registerSerialNumber)}_${compactTime(subject.from)}-${compactTime(subject.to)}.tar`;
}

/** A TAR member's header: a plain file owned by root, mode 0644, dated `mtime` (the same bytes every time). */
export const tarFileHeader = (name: string, size: number, mtime: Date) => ({
  name,
  size,
  mtime,
  mode: 0o644,
  uid: 0,
  gid: 0,
  uname: 'root',
  gname: 'root',
  type: 'file' as const,
});
