import { randomUUID } from 'node:crypto';
import { monotonicFactory } from 'ulid';

export type IdGenerator = () => string;
export type Clock = () => Date;

const nextUlid = monotonicFactory();

/** Job ids are ULIDs: sortable by creation time, so "newest first" is a reverse key order. */
export const newJobId: IdGenerator = () => nextUlid();
export const newLeaseId: IdGenerator = () => randomUUID();
export const systemClock: Clock = () => new Date();

export const JOB_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
