import { Writable } from 'node:stream';
import { FrameCoalescing } from './frame-coalescing';

/** A real stream that records what each write to its destination carried. */
function connection(): { stream: Writable; writes: string[][] } {
  const writes: string[][] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      writes.push([chunk]);
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.map(({ chunk }) => chunk as string));
      done();
    },
  });
  return { stream, writes };
}

const checkPhase = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(FrameCoalescing.name, () => {
  it("writes a turn's first frame at once and the rest of the turn's frames together at its check phase", async () => {
    const coalescing = new FrameCoalescing();
    const { stream, writes } = connection();
    const send = (frame: string): void => {
      coalescing.beforeWrite(stream);
      stream.write(frame);
    };

    send('next');
    expect(writes).toEqual([['next']]);
    send('complete');
    send('next 2');
    await Promise.resolve();
    send('complete 2');
    expect(writes).toEqual([['next']]);

    await checkPhase();
    expect(writes).toEqual([['next'], ['complete', 'next 2', 'complete 2']]);

    // The next turn starts again: its first frame goes out alone, at once.
    send('next 3');
    expect(writes).toEqual([['next'], ['complete', 'next 2', 'complete 2'], ['next 3']]);
    await checkPhase();
    expect(stream.writableCorked).toBe(0);
  });

  it('keeps each connection to its own frames, and a connection given one frame a turn uncorked', async () => {
    const coalescing = new FrameCoalescing();
    const busy = connection();
    const quiet = connection();
    for (const frame of ['a', 'b', 'c']) {
      coalescing.beforeWrite(busy.stream);
      busy.stream.write(frame);
    }
    coalescing.beforeWrite(quiet.stream);
    quiet.stream.write('x');
    expect(quiet.stream.writableCorked).toBe(0);
    expect(quiet.writes).toEqual([['x']]);

    await checkPhase();
    expect(busy.writes).toEqual([['a'], ['b', 'c']]);
    expect(quiet.writes).toEqual([['x']]);
  });

  it('leaves a frame corked by its writer (a header and body) to that writer', async () => {
    const coalescing = new FrameCoalescing();
    const { stream, writes } = connection();
    coalescing.beforeWrite(stream);
    stream.write('first');
    // As ws writes a frame of two parts: corked around both, uncorked at once.
    coalescing.beforeWrite(stream);
    stream.cork();
    stream.write('header');
    stream.write('body');
    stream.uncork();
    expect(writes).toEqual([['first']]);
    await checkPhase();
    expect(writes).toEqual([['first'], ['header', 'body']]);
  });

  it('does not cork a destroyed connection', async () => {
    const coalescing = new FrameCoalescing();
    const { stream } = connection();
    coalescing.beforeWrite(stream);
    stream.destroy();
    coalescing.beforeWrite(stream);
    expect(stream.writableCorked).toBe(0);
    await checkPhase();
  });
});
