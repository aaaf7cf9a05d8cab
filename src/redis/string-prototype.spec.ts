import { setFlagsFromString } from 'node:v8';
import { restoreFastStringMethods } from './string-prototype';

// V8's own view of an object's properties: fast (compiled code may inline their values, the
// methods of a string among them) or a dictionary.
setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8's syntax is not TypeScript
const hasFastProperties = new Function('value', 'return %HasFastProperties(value)') as (
  value: unknown,
) => boolean;

describe(restoreFastStringMethods.name, () => {
  it('makes the methods of strings fast again after ioredis has made them a dictionary', async () => {
    expect(hasFastProperties(String.prototype)).toBe(true);
    await import('ioredis');
    // Should ioredis stop subclassing String, this fails: restoreFastStringMethods can go.
    expect(hasFastProperties(String.prototype)).toBe(false);

    restoreFastStringMethods();
    expect(hasFastProperties(String.prototype)).toBe(true);

    // And they stay fast when another class extends String.
    class Tagged extends String {}
    expect(new Tagged('x').length).toBe(1);
    expect(hasFastProperties(String.prototype)).toBe(true);
  });

  it('leaves String.prototype as it was', () => {
    const before = Object.getOwnPropertyNames(String.prototype).sort();
    restoreFastStringMethods();
    expect(Object.getOwnPropertyNames(String.prototype).sort()).toEqual(before);
    expect('abc'.charCodeAt(1)).toBe(0x62);
  });
});
