import { expect } from 'chai';
import { jsonEqual } from '../../src/json-equal.js';

describe('jsonEqual (idempotent resubmits compare payloads with it)', () => {
  it('is true for the same value, whatever the order of object keys', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).to.equal(true);
    expect([jsonEqual(null, null), jsonEqual('x', 'x'), jsonEqual([], [])]).to.deep.equal([true, true, true]);
  });

  it('tells apart an object with an extra key, in either direction', () => {
    expect([jsonEqual({ a: 1 }, { a: 1, b: 2 }), jsonEqual({ a: 1, b: 2 }, { a: 1 })]).to.deep.equal([false, false]);
  });

  it('tells apart a longer array, in either direction, and the same items in another order', () => {
    expect([jsonEqual([1, 2], [1, 2, 3]), jsonEqual([1, 2, 3], [1, 2]), jsonEqual([1, 2], [2, 1])]).to.deep.equal([
      false, false, false,
    ]);
  });

  it('tells apart values of different kinds that look alike', () => {
    expect([jsonEqual([], {}), jsonEqual({}, null), jsonEqual('1', 1), jsonEqual({ a: undefined }, { b: undefined })]).to.deep.equal([
      false, false, false, false,
    ]);
  });
});
