import { describe, expect, it } from 'vitest';
import { ID_PREFIXES, isId, newId } from './ids.js';

const SUFFIX = '[0-7][0-9a-hjkmnp-tv-z]{25}';
const VALID = 'reg_01kbz3qz8cf8x9y2v4n6m7p0rs';

describe(newId.name, () => {
  it('makes a register id of the documented shape', () => {
    expect(newId('reg')).toMatch(/^reg_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
  });

  it.each(Object.values(ID_PREFIXES))('makes %s ids that isId accepts', (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}_${SUFFIX}$`));
    expect(isId(prefix, id)).toBe(true);
  });

  it('never repeats itself', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId('op')));
    expect(ids.size).toBe(1000);
  });

  it('sorts ids created in sequence in creation order as strings', () => {
    const ids = Array.from({ length: 1000 }, () => newId('reg'));
    expect([...ids].sort()).toEqual(ids);
  });

  it('sorts ids created in different milliseconds in creation order', async () => {
    const first = newId('loc');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newId('loc');
    expect(first < second).toBe(true);
  });
});

describe(isId.name, () => {
  it('accepts a well-formed id', () => {
    expect(isId('reg', VALID)).toBe(true);
  });

  it.each([
    ['another prefix', 'org_01kbz3qz8cf8x9y2v4n6m7p0rs'],
    ['upper case', VALID.toUpperCase()],
    ['an upper-case suffix character', 'reg_01kbz3qz8cf8x9y2v4n6m7p0rS'],
    ['25 suffix characters', VALID.slice(0, -1)],
    ['27 suffix characters', `${VALID}0`],
    ['a first suffix character above 7', 'reg_81kbz3qz8cf8x9y2v4n6m7p0rs'],
    ['the excluded letter i', 'reg_01kbz3qz8cf8x9y2v4n6m7p0ri'],
    ['the excluded letter l', 'reg_01kbz3qz8cf8x9y2v4n6m7p0rl'],
    ['the excluded letter o', 'reg_01kbz3qz8cf8x9y2v4n6m7p0ro'],
    ['the excluded letter u', 'reg_01kbz3qz8cf8x9y2v4n6m7p0ru'],
    ['no separator', 'reg01kbz3qz8cf8x9y2v4n6m7p0rs'],
    ['a dash separator', 'reg-01kbz3qz8cf8x9y2v4n6m7p0rs'],
    ['surrounding text', ` ${VALID}`],
    ['the bare prefix', 'reg_'],
  ])('refuses %s', (_, value) => {
    expect(isId('reg', value)).toBe(false);
  });

  it('tells a fiscal unit id from an operation id', () => {
    const id = newId('fu');
    expect([isId('fu', id), isId('op', id)]).toEqual([true, false]);
  });
});
