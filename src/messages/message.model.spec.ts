import { PREVIEW_BYTES, PREVIEW_CHARS } from '../agent-view/agent-message';
import { bodyOf, previewOf, previewTruncatedOf } from './message.model';

describe(bodyOf.name, () => {
  it('answers the content of a message read with its body', () => {
    expect(bodyOf({ content: 'the body' })).toBe('the body');
  });

  it('refuses a message read without all of its body, rather than answer part of it', () => {
    expect(() => bodyOf({ content: '', contentCut: true })).toThrow('bodyNeed');
    expect(() => bodyOf({ content: 'the start', contentCut: true })).toThrow('bodyNeed');
  });
});

describe(previewOf.name, () => {
  it('answers the first characters of a whole body or of its start', () => {
    const long = '😀'.repeat(PREVIEW_CHARS + 1);
    expect(previewOf({ content: long })).toBe('😀'.repeat(PREVIEW_CHARS));
    expect(previewOf({ content: long.slice(0, 330), contentCut: true })).toBe(
      '😀'.repeat(PREVIEW_CHARS),
    );
    expect(previewOf({ content: 'short' })).toBe('short');
  });

  it('finds a whole preview in the bytes a preview read keeps (message-preview.lua)', () => {
    // 'a' and 4-byte characters: the script backs off from byte 640 to 637, a character's edge.
    const body = 'a' + '😀'.repeat(PREVIEW_CHARS);
    const kept = Buffer.from(body)
      .subarray(0, PREVIEW_BYTES - 3)
      .toString();
    expect(previewOf({ content: kept, contentCut: true })).toBe(previewOf({ content: body }));
  });

  it('refuses a message read without any of its body', () => {
    expect(() => previewOf({ content: '', contentCut: true })).toThrow('bodyNeed');
    expect(previewOf({ content: '' })).toBe('');
  });
});

describe(previewTruncatedOf.name, () => {
  it('tells a body that goes on past its preview from one the preview holds whole', () => {
    expect(previewTruncatedOf({ content: 'x'.repeat(PREVIEW_CHARS) })).toBe(false);
    expect(previewTruncatedOf({ content: 'x'.repeat(PREVIEW_CHARS + 1) })).toBe(true);
    // Characters, not UTF-16 units: 160 characters outside the BMP are a whole preview.
    expect(previewTruncatedOf({ content: '😀'.repeat(PREVIEW_CHARS) })).toBe(false);
    expect(previewTruncatedOf({ content: '' })).toBe(false);
  });

  it('marks a body a preview read cut as going on, even where its start fits a preview', () => {
    const kept = Buffer.from('😀'.repeat(PREVIEW_CHARS + 1))
      .subarray(0, PREVIEW_BYTES)
      .toString();
    expect(previewTruncatedOf({ content: kept, contentCut: true })).toBe(true);
    expect(previewTruncatedOf({ content: kept })).toBe(false);
  });

  it('refuses a message read without any of its body', () => {
    expect(() => previewTruncatedOf({ content: '', contentCut: true })).toThrow('bodyNeed');
  });
});
