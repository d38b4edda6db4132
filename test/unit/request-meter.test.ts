import { describe, expect, it } from 'vitest';
import { capacityByTable, capacityUnits } from '../../core/aws/request-meter.ts';

describe('request meter', () => {
  it('splits a transaction\'s capacity (INDEXES) into each table and GSI', () => {
    const consumed = [
      { TableName: 'p-jobs', CapacityUnits: 8, Table: { CapacityUnits: 4 }, GlobalSecondaryIndexes: { byGroup: { CapacityUnits: 2 }, queued: { CapacityUnits: 2 } } },
      { TableName: 'p-audit', CapacityUnits: 2, Table: { CapacityUnits: 2 } },
    ];
    expect(capacityByTable(consumed)).toEqual([
      { table: 'p-jobs', tableUnits: 4, indexes: { byGroup: 2, queued: 2 } },
      { table: 'p-audit', tableUnits: 2, indexes: {} },
    ]);
    // The totals still count the indexes once, through each entry's CapacityUnits.
    expect(capacityUnits('TransactWriteItems', consumed)).toEqual({ read: 0, write: 10 });
  });

  it('reads a single entry without a Table part as the table\'s own units', () => {
    expect(capacityByTable({ TableName: 'p-jobs', CapacityUnits: 0.5 })).toEqual([{ table: 'p-jobs', tableUnits: 0.5, indexes: {} }]);
    expect(capacityByTable(undefined)).toEqual([]);
  });
});
