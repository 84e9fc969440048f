/**
 * Recovery of one segment file: every record whose checksum holds is kept; a damaged stretch is
 * skipped to the next valid record and counted; an unfinished record at the end (the process
 * died mid-write) is a torn tail (specs/durable-log.md L2, L3). Never throws on bad bytes.
 */
import { nextRecordStart, readRecordAt, type FoundRecord } from './record-format.ts';

export interface SegmentProblem {
  readonly kind: 'corrupt' | 'torn-tail';
  /** Byte offset in the segment where the bad bytes start. */
  readonly offset: number;
  /** Bytes skipped. */
  readonly bytes: number;
}

export interface SegmentScan {
  readonly records: FoundRecord[];
  readonly problems: SegmentProblem[];
  /** Offset after the last valid record. */
  readonly validEnd: number;
}

export function scanSegment(bytes: Buffer): SegmentScan {
  const records: FoundRecord[] = [];
  const problems: SegmentProblem[] = [];
  let offset = 0;
  let validEnd = 0;
  for (;;) {
    const step = readRecordAt(bytes, offset);
    if (step.kind === 'end') break;
    if (step.kind === 'record') {
      records.push(step.record);
      offset = step.next;
      validEnd = offset;
      continue;
    }
    const resync = nextRecordStart(bytes, offset + 1);
    if (resync < 0) {
      // Nothing valid follows: a torn tail if it looked like the start of a record, else damage.
      problems.push({ kind: step.kind === 'torn' ? 'torn-tail' : 'corrupt', offset, bytes: bytes.byteLength - offset });
      break;
    }
    problems.push({ kind: 'corrupt', offset, bytes: resync - offset });
    offset = resync;
  }
  return { records, problems, validEnd };
}
