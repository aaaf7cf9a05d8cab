import type { Writable } from 'node:stream';

/**
 * Joins the frames written to one connection in one turn of the event loop, after its first,
 * into one write: the connection (the TCP socket under a WebSocket) is corked at its second
 * frame of the turn and uncorked in the turn's check phase (setImmediate), once every
 * callback of the poll phase and its promise callbacks have run.
 *
 * A socket that carries sends writes two frames per operation (`next`, then `complete`), and
 * the answers of a turn's sends arrive together (the store answers them in a few script
 * calls): without this, every frame is a system call of its own. The first frame of a turn
 * is written at once, so a socket given one frame a turn (a subscriber of a fan-out, a lone
 * send's `next`) pays nothing more than before and waits for nothing.
 *
 * Corking only holds writes back in the stream's buffer, where they still count in the
 * socket's `bufferedAmount` for the backpressure bound.
 *
 * Which connections a turn has written to is kept as each connection's last turn, not as a
 * set cleared every turn: clearing a long-lived set gives it a new table each time, and those
 * tables outlived young-generation collections under live load.
 */
export class FrameCoalescing {
  /** The turn each connection was last written to in. */
  private readonly lastTurn = new WeakMap<Writable, number>();
  /** The current turn: a new one starts at every check phase that had writes. */
  private turn = 0;
  /** Connections corked in this turn, to uncork at its check phase. */
  private corked: Writable[] = [];
  private scheduled = false;

  /** Called before each frame is written to `connection`. */
  beforeWrite(connection: Writable): void {
    if (this.lastTurn.get(connection) !== this.turn) {
      this.lastTurn.set(connection, this.turn);
      this.schedule();
      return;
    }
    // A frame's own cork (ws corks a frame's header and body together) is undone when the
    // frame is written: a count above zero here is this turn's.
    if (connection.writableCorked === 0 && !connection.destroyed) {
      connection.cork();
      this.corked.push(connection);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.turn += 1;
    const corked = this.corked;
    this.corked = [];
    for (const connection of corked) connection.uncork();
  }
}
