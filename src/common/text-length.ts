/**
 * Whether `text` has more than `max` characters, counted as a reader counts them: by code
 * point, so that an emoji (two UTF-16 units) is one. Cheap for text of `max` units or fewer,
 * which has at most that many characters.
 */
export function moreCharactersThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let characters = 0;
  for (let unit = 0; unit < text.length; characters += 1) {
    if (characters === max) return true;
    unit += (text.codePointAt(unit) as number) > 0xffff ? 2 : 1;
  }
  return false;
}
