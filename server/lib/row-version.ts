import { z } from 'zod';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../errors.ts';

/**
 * Row versions for conditional requests (docs/retries.md). A resource's `version` is
 * an integer column that triggers move on every change; its strong ETag is the
 * version in quotes, `"7"`.
 */

/** The `version` field of an output schema. */
export const Version = z.number().int().min(1).meta({ description: 'Moves on every change to the resource; its ETag is this number in quotes' });

/**
 * The optional `ifVersion` input of an update or archive: the write happens only if the
 * row is still at this version, otherwise PRECONDITION_FAILED (412) naming the current
 * one. On REST it comes from the If-Match header instead (the pipeline fills it in; a
 * body field of that name is ignored there). A service applies it in its UPDATE:
 * `if (ifVersion !== undefined) query.where('version', ifVersion)`.
 */
export const IfVersion = z
  .number()
  .int()
  .min(0)
  .optional()
  .meta({ description: 'Write only if the resource is still at this version (its ETag without quotes); 412 PRECONDITION_FAILED otherwise' });
export type IfVersion = z.output<typeof IfVersion>;

/** The strong ETag of a version. */
export const etagOf = (version: number) => `"${version}"`;

// RFC 9110 §8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
const ENTITY_TAG = /^\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*$/;

function parseTagList(header: string): { weak: boolean; opaque: string }[] | undefined {
  const tags: { weak: boolean; opaque: string }[] = [];
  for (const part of header.split(',')) {
    const m = ENTITY_TAG.exec(part);
    if (!m) return undefined;
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
  }
  return tags;
}

/**
 * If-Match → the version a write may apply to: undefined for `*` (any existing row).
 * If-Match compares strongly, so a weak tag, or a tag that is not one of ours, matches
 * nothing: version 0, which no row has. Of several strong tags the highest counts:
 * a row's versions only grow, so of the versions a client has seen only the highest can
 * still be current. A header that is not an entity-tag list is a 400.
 */
export function versionFromIfMatch(header: string): number | undefined {
  if (header.trim() === '*') return undefined;
  const tags = parseTagList(header);
  if (!tags) throw new ValidationError('If-Match must be * or a comma-separated list of entity tags, e.g. "3"', [{ path: ['If-Match'], message: 'Malformed If-Match header', code: 'invalid_format' }]);
  const versions = tags.filter((t) => !t.weak && /^[1-9][0-9]{0,9}$/.test(t.opaque)).map((t) => Number(t.opaque));
  return versions.length ? Math.max(...versions) : 0;
}

/**
 * Whether If-None-Match matches the current version (weak comparison, RFC 9110
 * §13.1.2): `*`, or a listed tag with the same opaque value. A malformed header
 * matches nothing (the full response is sent).
 */
export function ifNoneMatchMatches(header: string, version: number): boolean {
  if (header.trim() === '*') return true;
  const tags = parseTagList(header);
  return !!tags && tags.some((t) => t.opaque === String(version));
}

/**
 * A conditional write (`UPDATE … WHERE id = ? AND version IN (…)`) changed nothing:
 * says why, as NotFound when the row is gone and PreconditionFailed (naming the
 * current version) when it moved on. `current` is the row's version read after the
 * miss, or undefined when there is no row.
 */
export function conditionalWriteMissed(resource: string, id: string, current: number | undefined): never {
  if (current === undefined) throw new NotFoundError(resource, id);
  throw new PreconditionFailedError(resource, id, current);
}
