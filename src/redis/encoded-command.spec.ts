import { Command } from 'ioredis';
import { EncodedCommand, encodeCommand } from './encoded-command';

/** What ioredis's own Command writes to the socket for the same call, as bytes. */
function ioredisBytes(name: string, args: Array<string | number | Buffer>): Buffer {
  const written = new Command(name, args).toWritable({});
  return typeof written === 'string' ? Buffer.from(written) : written;
}

describe(EncodedCommand.name, () => {
  const cases: Array<[string, string, Array<string | number | Buffer>]> = [
    ['no arguments', 'ping', []],
    ['an empty argument', 'set', ['key', '']],
    ['numbers', 'evalsha', ['0123456789abcdef', 3, 0, -7, 12.5, 1_700_000_000_000]],
    [
      'lengths of one to five digits',
      'evalsha',
      ['a', 'b'.repeat(10), 'c'.repeat(999), 'd'.repeat(1000), 'e'.repeat(12_345)],
    ],
    [
      'two- to four-byte characters',
      'eval',
      ['é', 'naïve — “quoted”', '日本語のテキスト', '🙂 emoji 👋🏽', '\u0000nul'],
    ],
    ['a lone surrogate', 'eval', ['broken \ud800 pair']],
    ['a Buffer argument', 'set', ['key', Buffer.from([0, 255, 13, 10]), Buffer.alloc(0)]],
  ];

  it.each(cases)('writes the bytes ioredis writes: %s', (_label, name, args) => {
    const command = new EncodedCommand(name, args);
    expect(command.toWritable()).toEqual(ioredisBytes(name, args));
  });

  it('fills exactly the Buffer it allocates', () => {
    const args = ['key', 'ü'.repeat(500), '🙂'.repeat(300), String(2 ** 40)];
    const bytes = encodeCommand('eval', args);
    expect(bytes.subarray(bytes.length - 2).toString()).toBe('\r\n');
    expect(bytes.toString().split('\r\n')).toEqual([
      '*5',
      '$4',
      'eval',
      '$3',
      'key',
      '$1000',
      'ü'.repeat(500),
      '$1200',
      '🙂'.repeat(300),
      '$13',
      String(2 ** 40),
      '',
    ]);
  });

  it('is a script call of the shared size: a hundred sends of 1 KiB', () => {
    const args: string[] = ['sha'];
    for (let send = 0; send < 100; send += 1) {
      args.push(`mailbox:{m${send}}:messages`, 'x'.repeat(1024), String(send));
    }
    expect(new EncodedCommand('evalsha', args).toWritable()).toEqual(ioredisBytes('evalsha', args));
  });
});
