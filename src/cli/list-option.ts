/** CLI lists: comma-separated, and for scopes also space-separated; blanks dropped. */
export function splitList(value: string | undefined, separators: RegExp = /,/): string[] {
  return (value ?? '')
    .split(separators)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
